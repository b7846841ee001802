"""Apache Kafka's jars and the JDK that runs them: found on this machine, fetched once with Maven.

The version is pinned in launcher/kafka/pom.xml (and here; a test checks they agree). The
jars land in `.tools/kafka-<version>/libs` (git-ignored) the first time a Kafka broker is
started, so a fresh clone needs only a JDK 17+, Maven and a reachable Maven repository.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

KAFKA_VERSION = "4.1.1"
POM = PROJECT_ROOT / "launcher" / "kafka" / "pom.xml"
TOOLS_DIR = PROJECT_ROOT / ".tools"
MIN_JAVA = 17  # Kafka 4 brokers need Java 17
FETCH_TIMEOUT_S = 600.0


class KafkaJarsError(RuntimeError):
    """The jars could not be fetched (no Maven, no repository, ...)."""


@dataclass(frozen=True)
class Jdk:
    java: str  # the `java` executable
    major: int
    version: str


def find_jdk(environ: dict[str, str] | None = None) -> Jdk | None:
    """The JDK at JAVA_HOME, else the `java` on PATH; None when there is none."""
    environ = dict(os.environ) if environ is None else environ
    candidates = []
    if environ.get("JAVA_HOME"):
        candidates.append(str(Path(environ["JAVA_HOME"]) / "bin" / "java"))
    on_path = shutil.which("java", path=environ.get("PATH"))
    if on_path:
        candidates.append(on_path)
    for java in candidates:
        jdk = _probe(java)
        if jdk is not None:
            return jdk
    return None


def _probe(java: str) -> Jdk | None:
    try:
        result = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r'version "([^"]+)"', result.stderr + result.stdout)
    if found is None:
        return None
    version = found.group(1)
    parts = version.split(".")
    # "1.8.0_392" is Java 8; "17.0.15" and "21" are themselves.
    major = (
        int(parts[1])
        if parts[0] == "1" and len(parts) > 1
        else int(re.sub(r"\D.*", "", parts[0]) or 0)
    )
    return Jdk(java=java, major=major, version=version)


def libs_dir(version: str = KAFKA_VERSION) -> Path:
    return TOOLS_DIR / f"kafka-{version}" / "libs"


def ensure_jars(version: str = KAFKA_VERSION) -> tuple[Path, bool]:
    """The directory of the broker's jars, fetched with Maven when missing; (dir, fetched now).

    Maven copies into a scratch directory renamed into place at the end, so an interrupted
    fetch is never taken for a complete one.
    """
    target = libs_dir(version)
    if target.is_dir() and any(target.glob("kafka_2.13-*.jar")):
        return target, False
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaJarsError("Maven (`mvn`) is not installed: it fetches Kafka's jars once")
    scratch = target.with_name(f"libs.partial-{os.getpid()}")
    shutil.rmtree(scratch, ignore_errors=True)
    command = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(POM),
        f"-Dkafka.version={version}",
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={scratch}",
    ]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=FETCH_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise KafkaJarsError(
            f"Maven did not fetch Kafka's jars within {FETCH_TIMEOUT_S:.0f} s"
        ) from exc
    if result.returncode != 0:
        shutil.rmtree(scratch, ignore_errors=True)
        tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
        raise KafkaJarsError("Maven could not fetch Kafka's jars: " + " | ".join(tail))
    if target.is_dir():  # a concurrent fetch won; keep its copy
        shutil.rmtree(scratch, ignore_errors=True)
    else:
        scratch.rename(target)
    return target, True
