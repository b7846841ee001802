"""TCP port checks: free ports for tests, the "already in use" check, waiting for a listener."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Mapping

import psutil  # type: ignore[import-untyped, unused-ignore]


class PortsInUse(Exception):
    """One or more ports the launcher would listen on are taken by another process."""

    def __init__(self, taken: Mapping[str, tuple[int, str | None]]) -> None:
        self.taken = dict(taken)
        parts = []
        for name, (port, holder) in self.taken.items():
            held = f" (held by {holder})" if holder else ""
            parts.append(f"port {port} for {name} is already in use{held}")
        super().__init__(
            "; ".join(parts) + ". Stop what holds it, or point KAFKA_BOOTSTRAP_SERVERS / "
            "DATABASE_URL at services that already run."
        )


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def is_port_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when a server could bind the port (SO_REUSEADDR, as servers do, so TIME_WAIT is ok)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def port_holder(port: int) -> str | None:
    """'pid N (name)' of the process listening on the port, when the OS tells us."""
    with contextlib.suppress(psutil.Error, OSError):
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                if conn.pid is None:
                    return None
                try:
                    name = psutil.Process(conn.pid).name()
                except psutil.Error:
                    name = "?"
                return f"pid {conn.pid} ({name})"
    return None


def check_ports_free(ports: Mapping[str, int], host: str = "127.0.0.1") -> None:
    """Raise PortsInUse naming every port of `ports` ({what: port}) that is taken."""
    taken = {
        name: (port, port_holder(port))
        for name, port in ports.items()
        if not is_port_free(port, host)
    }
    if taken:
        raise PortsInUse(taken)


def is_listening(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


async def wait_for_port(port: int, host: str = "127.0.0.1", within: float = 30.0) -> None:
    """Wait until something accepts connections on the port; TimeoutError otherwise."""
    deadline = time.monotonic() + within
    while True:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 1.0)
        except (OSError, TimeoutError):
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"nothing listens on {host}:{port} after {within:.0f} s"
                ) from None
            await asyncio.sleep(0.1)
        else:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return
