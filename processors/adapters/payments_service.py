"""Client of contractor-merch-payments (contract section 5): `HttpPaymentsService`.

It calls through an aiohttp session (httpx's own request and cookie handling were
half the cost of a call, measured under the authorize benchmark); tests drive it
against an aiohttp test server, the same path the worker runs. Every call has
its own timeout and metric. The peer's failures become the
payments port's errors: a refused connection (`PeerUnavailable(request_not_sent=True)`:
nothing was created), 5xx, timeouts, broken connections and unreadable bodies
(`PeerUnavailable`: outcome unknown), 404 (`PeerNotFound`) and other 4xx
(`PeerRejected` with the peer's code as its `reason`): `processors.peer_errors`.
"""

from __future__ import annotations

import json
import time
from typing import TypeVar
from urllib.parse import urlsplit

import aiohttp
import structlog
from pydantic import BaseModel, ValidationError

from observability.logs import correlation_id_var
from observability.peer_journal import PeerCall
from observability.peer_metrics import record_peer_call
from processors.http_client import REQUEST_ID_HEADER
from processors.peer_errors import PeerNotFound, PeerRejected, PeerUnavailable
from schemas.merch_payments import (
    CreateMerchPayment,
    CreateMerchRefund,
    MerchPaymentState,
    MerchRefund,
)

log = structlog.get_logger(__name__)

PEER = "contractor-merch-payments"

Model = TypeVar("Model", bound=BaseModel)


class HttpPaymentsService:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, timeout_s: float) -> None:
        self._session = session
        self._base = base_url.rstrip("/") + "/internal/v1/payments"
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def create(self, request: CreateMerchPayment) -> MerchPaymentState:
        return await self._call(
            "create",
            "POST",
            self._base,
            MerchPaymentState,
            request.model_dump_json().encode(),
            subject=request.payment_id,
        )

    async def get(self, payment_id: str) -> MerchPaymentState:
        return await self._call(
            "get", "GET", f"{self._base}/{payment_id}", MerchPaymentState, subject=payment_id
        )

    async def cancel(self, payment_id: str) -> MerchPaymentState:
        return await self._call(
            "cancel",
            "POST",
            f"{self._base}/{payment_id}/cancel",
            MerchPaymentState,
            b"{}",
            subject=payment_id,
        )

    async def refund(self, payment_id: str, request: CreateMerchRefund) -> MerchRefund:
        return await self._call(
            "refund",
            "POST",
            f"{self._base}/{payment_id}/refunds",
            MerchRefund,
            request.model_dump_json().encode(),
            subject=payment_id,
        )

    async def _call(
        self,
        operation: str,
        method: str,
        url: str,
        answer: type[Model],
        body: bytes | None = None,
        *,
        subject: str,
    ) -> Model:
        headers = {}
        if body is not None:
            headers["Content-Type"] = "application/json"
        correlation_id = correlation_id_var.get()
        if correlation_id is not None:
            headers["correlation-id"] = correlation_id
            headers[REQUEST_ID_HEADER] = correlation_id
        started = time.perf_counter()
        outcome = "unavailable"
        try:
            try:
                status, content = await self._exchange(method, url, body, headers)
            except _Failed as failed:
                outcome = failed.outcome
                raise PeerUnavailable(
                    PEER, operation, failed.detail, request_not_sent=failed.outcome == "refused"
                ) from failed.__cause__
            if status >= 500:
                raise PeerUnavailable(PEER, operation, f"HTTP {status}")
            if status == 404:
                outcome = "not_found"
                raise PeerNotFound(PEER, operation, "not_found")
            if status >= 400:
                outcome = "rejected"
                raise PeerRejected(PEER, operation, _error_code(content))
            try:
                parsed = answer.model_validate_json(content)
            except ValidationError as exc:
                raise PeerUnavailable(PEER, operation, "unreadable answer") from exc
            outcome = "ok"
            return parsed
        finally:
            seconds = time.perf_counter() - started
            path = urlsplit(url).path
            record_peer_call(PeerCall(PEER, operation, outcome, seconds, method, path, subject))

    async def _exchange(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        """The answer's status and body; `_Failed` when there is no answer."""
        try:
            async with self._session.request(
                method, url, data=body, headers=headers, timeout=self._timeout
            ) as response:
                content: bytes = await response.read()
                return response.status, content
        except TimeoutError as exc:  # aiohttp's timeouts are TimeoutErrors
            raise _Failed("timeout", "timed out") from exc
        except aiohttp.ClientConnectorError as exc:
            # Connecting failed: the request surely did not reach the service.
            raise _Failed("refused", "refused") from exc
        except aiohttp.ClientError as exc:
            raise _Failed("unavailable", type(exc).__name__) from exc


class _Failed(Exception):
    """No answer from the service; `outcome` is the metric's label (`refused`: never sent)."""

    def __init__(self, outcome: str, detail: str) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail


def _error_code(content: bytes) -> str:
    try:
        body = json.loads(content)
    except ValueError:
        return "unknown"
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) and code else "unknown"
