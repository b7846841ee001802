"""`make run`: the whole system on this machine until Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys

from dotenv import dotenv_values

from launcher.logs import Log, OutputSink
from launcher.ports import PortsInUse
from launcher.postgres import PostgresError
from launcher.rundir import AnotherLauncherRunning
from launcher.stack import PROJECT_ROOT, Stack, StackConfig

STARTUP_ERRORS = (PortsInUse, AnotherLauncherRunning, PostgresError, TimeoutError, OSError)


def environment() -> dict[str, str]:
    """The process environment over the project's .env file (the environment wins)."""
    from_file = {
        key: value
        for key, value in dotenv_values(PROJECT_ROOT / ".env").items()
        if value is not None
    }
    return {**from_file, **os.environ}


async def run(config: StackConfig) -> int:
    stack = Stack(config)
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_requested.set)
    starting = asyncio.create_task(stack.start())
    waiting = asyncio.create_task(stop_requested.wait())
    await asyncio.wait({starting, waiting}, return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():  # Ctrl-C while starting: start() cleans up what it began
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError, *STARTUP_ERRORS):
            await starting
        return 0
    error = starting.exception()
    if error is not None:
        waiting.cancel()
        stack.log.error("cannot start", error=str(error), kind=type(error).__name__)
        return 1
    stack.log.info("running; Ctrl-C stops everything")
    await waiting
    stack.log.info("stop requested")
    await stack.stop()
    return 0


def main() -> int:
    try:
        config = StackConfig.from_env(environment())
    except ValueError as exc:
        Log(OutputSink()).error("bad configuration", error=str(exc))
        return 2
    return asyncio.run(run(config))


if __name__ == "__main__":
    sys.exit(main())
