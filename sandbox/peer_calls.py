"""The one wrapper around every peer call: journal it, wait the peer's latency (if it
has a profile), then apply any injected fault.

Control routes (`/_sandbox/...`) pass straight through.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.clock import now_rfc3339
from sandbox.context import Sandbox
from sandbox.errors import error_response
from sandbox.faults import FaultMode
from sandbox.journal import JournalEntry
from sandbox.peer_names import split_peer_path


def _parse_body(raw: bytes) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The whole request body, and whether the client went away while sending it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), True
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), False


async def _hang(receive: Receive, seconds: float) -> None:
    """Wait `seconds`, or less if the caller gives up and disconnects."""

    async def _until_disconnect() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(_until_disconnect(), timeout=seconds)


class PeerCallMiddleware:
    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        peer = split_peer_path(scope["path"]) if scope["type"] == "http" else None
        if peer is None:
            await self.app(scope, receive, send)
            return
        service, path = peer
        body, disconnected = await _read_body(receive)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        entry = self.sandbox.journal.record(
            JournalEntry(
                service, scope["method"], path, query, _parse_body(body), None, now_rfc3339()
            )
        )

        latency = self.sandbox.latencies.wait_seconds(service)
        if latency > 0:
            await asyncio.sleep(latency)

        fault = self.sandbox.faults.take(service, path)
        mode = fault.mode if fault is not None else None
        settings = self.sandbox.settings
        if mode is FaultMode.ERROR:
            entry.status = 500
            await error_response(500, "injected_fault", f"{service} fault: error")(
                scope, receive, send
            )
            return
        if mode is FaultMode.TIMEOUT:
            entry.status = 504
            if not disconnected:
                await _hang(receive, settings.sandbox_fault_timeout_seconds)
            await error_response(504, "injected_fault", f"{service} fault: timeout")(
                scope, receive, send
            )
            return
        if fault is not None and mode is FaultMode.SLOW:
            delay_ms = fault.delay_ms
            await asyncio.sleep(
                settings.sandbox_fault_slow_seconds if delay_ms is None else delay_ms / 1000
            )

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def record_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry.status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, replay, record_status)
        except Exception:
            if entry.status is None:
                entry.status = 500
            raise
