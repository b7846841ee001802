"""Serving one ingress instance: its two listeners, in one process, until a signal."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import Iterator

import uvicorn

from ingress.app import IngressApps


class _Listener(uvicorn.Server):
    """A uvicorn server that leaves signals to `serve` (two servers share one process)
    and says when it listens."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.listening.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _server(app: object, host: str, port: int) -> _Listener:
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        http="httptools",
        lifespan="off",  # the shared resources are opened once, by IngressApps.running
        timeout_graceful_shutdown=5,
        # Longer than the idle timeout of the clients and load balancers in front (httpx
        # and most pools keep 5 s): the side that closes an idle connection should be the
        # client, or a request sent on it as the server closes it is cut.
        timeout_keep_alive=30,
    )
    return _Listener(config)


async def serve(apps: IngressApps) -> None:
    settings = apps.settings
    partner = _server(apps.partner, settings.ingress_host, settings.ingress_port)
    internal = _server(
        apps.internal, settings.ingress_internal_host, settings.ingress_internal_port
    )
    servers = (partner, internal)

    def stop() -> None:
        for server in servers:
            server.should_exit = True

    def on_signal() -> None:
        for server in servers:  # a second signal stops without waiting for connections
            server.force_exit = server.should_exit
        stop()

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, on_signal)
    loop.add_signal_handler(signal.SIGINT, on_signal)
    # The launcher's memory-only broker died and came back empty (ingress.kafka_gateway).
    gateway = apps.resources.gateway
    loop.add_signal_handler(signal.SIGUSR1, gateway.broker_lost)
    loop.add_signal_handler(signal.SIGUSR2, gateway.broker_replaced)
    async with apps.running():
        # The internal listener first: once the partner one answers /health (what the
        # launcher and orchestrators wait for), both serve.
        tasks = [asyncio.create_task(internal.serve())]
        listening = asyncio.create_task(internal.listening.wait())
        await asyncio.wait([tasks[0], listening], return_when=asyncio.FIRST_COMPLETED)
        listening.cancel()
        tasks.append(asyncio.create_task(partner.serve()))
        # Either server stopping (a signal, a port in use) stops the other.
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        stop()
        await asyncio.gather(*tasks, return_exceptions=True)
        if not (partner.started and internal.started):
            sys.exit("ingress: a listener could not start")
