"""One JSON call to a meters peer over HTTP: its timeout, its metrics (count by
outcome, latency, per peer and operation) and the mapping of what can go wrong
to `processors.meters.errors`.

Neither request nor response bodies are ever logged or put in an exception:
the vendor's request carries the driver's identity document number.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from observability.peer_journal import PeerCall
from observability.peer_metrics import record_peer_call
from processors.meters.errors import (
    PeerError,
    PeerNotFound,
    PeerRejected,
    PeerUnavailable,
    RevisionConflict,
)

T = TypeVar("T")

_ERROR_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class HttpPeer:
    def __init__(
        self,
        client: httpx.AsyncClient,
        peer: str,
        base_url: str,
        timeout_s: float,
        headers: dict[str, str] | None = None,
    ) -> None:
        self._client = client
        self.peer = peer
        self._base_url = base_url.rstrip("/")
        self._timeout = httpx.Timeout(timeout_s)
        self._headers = headers or {}

    async def post(
        self,
        operation: str,
        path: str,
        body: dict[str, Any],
        parse: Callable[[dict[str, Any]], T],
        params: dict[str, str] | None = None,
    ) -> T:
        """POST `body` as JSON and `parse` the answer's JSON object, or raise a `PeerError`.

        `parse` may raise a `PeerError` itself (say, `PeerNotFound` for an empty list);
        any other failure of it means the answer is unreadable."""
        started = time.perf_counter()
        outcome = "ok"
        try:
            answer = await self._post(operation, path, body, params)
            try:
                return parse(answer)
            except PeerError:
                raise
            except (ValueError, KeyError, TypeError, AttributeError, IndexError):
                raise PeerUnavailable(self.peer, operation, "unreadable_answer") from None
        except PeerError as exc:
            outcome = _outcome(exc)
            raise
        finally:
            seconds = time.perf_counter() - started
            record_peer_call(PeerCall(self.peer, operation, outcome, seconds, "POST", path, None))

    async def _post(
        self,
        operation: str,
        path: str,
        body: dict[str, Any],
        params: dict[str, str] | None,
    ) -> dict[str, Any]:
        try:
            response = await self._client.post(
                self._base_url + path,
                json=body,
                params=params,
                headers=self._headers,
                timeout=self._timeout,
            )
        except httpx.TimeoutException:
            raise PeerUnavailable(self.peer, operation, "timeout") from None
        except httpx.HTTPError as exc:
            # `from None`: the transport's exception may hold the request (and its body).
            raise PeerUnavailable(self.peer, operation, type(exc).__name__) from None
        status = response.status_code
        if status >= 500:
            raise PeerUnavailable(self.peer, operation, f"http_{status}")
        if status >= 400:
            code = _error_code(response)
            if status == 404:
                raise PeerNotFound(self.peer, operation, code)
            if status == 409 and code == "revision_mismatch":
                raise RevisionConflict(self.peer, operation, code)
            raise PeerRejected(self.peer, operation, code)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise PeerUnavailable(self.peer, operation, "unreadable_answer")
        return answer


def _error_code(response: httpx.Response) -> str:
    """The peer's snake_case error code; never its message (it may echo our input)."""
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        code = None
    if isinstance(code, str) and _ERROR_CODE.match(code):
        return code
    return f"http_{response.status_code}"


def _outcome(exc: PeerError) -> str:
    if isinstance(exc, PeerNotFound):
        return "not_found"
    if isinstance(exc, PeerRejected):
        return "rejected"
    return exc.reason if exc.reason in ("timeout", "unreadable_answer") else "unavailable"
