"""`python -m ingress`: one ingress instance, its two listeners served by one process."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import Iterator

import uvicorn
import uvloop
from pydantic import ValidationError

from ingress.app import IngressApps, create_apps
from ingress.keyring import InvalidKeys
from ingress.settings import IngressSettings
from observability.logs import configure_logging


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


def main() -> None:
    try:
        settings = IngressSettings()
        configure_logging(settings.ingress_instance_id, settings.log_level)
        apps = create_apps(settings)
    except ValidationError as exc:
        # A field's error names its variable (never its value, which may be a secret); a
        # rule across fields says what is wrong.
        problems = [
            str(error["loc"][0]).upper() if error["loc"] else str(error["msg"])
            for error in exc.errors()
        ]
        sys.exit(f"invalid ingress configuration: {', '.join(problems)}")
    except InvalidKeys as exc:
        sys.exit(f"invalid ingress configuration: {exc}")
    uvloop.run(serve(apps))


if __name__ == "__main__":
    main()
