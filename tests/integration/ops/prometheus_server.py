"""A real Prometheus (Debian's package) for tests: found, or installed once, or skipped.

Started on a free port with its own data directory and a configuration derived from the
one compose uses; the Debian service itself is never started.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
PROMETHEUS_DIR = REPO / "deploy" / "prometheus"
COMPOSE_CONFIG = PROMETHEUS_DIR / "prometheus.yml"


def binaries() -> tuple[str, str]:
    """Paths of `prometheus` and `promtool`; installs Debian's package when missing."""
    if None in (shutil.which("prometheus"), shutil.which("promtool")):
        _apt_install("prometheus")
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if prometheus is None or promtool is None:
        pytest.skip("Prometheus is not installed and `apt-get install prometheus` failed")
    return prometheus, promtool


def _apt_install(package: str) -> None:
    if shutil.which("apt-get") is None:
        return
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package]
    # A fresh machine's package lists may be stale: update once and try again.
    for command in (install, ["apt-get", "update", "-qq"], install):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            done = subprocess.run(command, capture_output=True, timeout=300, check=False)
            if command is install and done.returncode == 0:
                return


def local_config(targets: dict[str, list[str]], directory: Path) -> Path:
    """compose's configuration with each job's targets replaced by local processes.

    Every job of compose's file must be given targets, so a job added there is not
    silently left out of this test."""
    config: dict[str, Any] = yaml.safe_load(COMPOSE_CONFIG.read_text())
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert jobs == set(targets), f"jobs in {COMPOSE_CONFIG.name}: {jobs}"
    # Faster than compose's 5 s, so rates over a minute have samples within seconds.
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": targets[job["job_name"]]}]
    for rules in config.get("rule_files", []):
        shutil.copy(PROMETHEUS_DIR / rules, directory / rules)
    path = directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@contextmanager
def running_prometheus(binary: str, config: Path, port: int) -> Iterator[str]:
    data = config.parent / "data"
    log = (config.parent / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"Prometheus did not start: {(config.parent / 'prometheus.log').read_text()}"
                )
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def query(url: str, expr: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{url}/api/v1/query", params={"query": expr}, timeout=5)
    answer.raise_for_status()
    body = answer.json()
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result
