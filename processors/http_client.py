"""The one HTTP client a worker shares across peers.

httpx's API (and `MockTransport` in adapter tests) over aiohttp's transport:
plain httpx cost a quarter of a worker's CPU on this machine.
"""

from __future__ import annotations

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from observability.logs import correlation_id_var

DEFAULT_TIMEOUT_S = 5.0


REQUEST_ID_HEADER = "X-Request-Id"


async def _propagate_correlation_id(request: httpx.Request) -> None:
    # Peers log the id, so one search shows a request's whole path.
    correlation_id = correlation_id_var.get()
    if correlation_id is not None and REQUEST_ID_HEADER not in request.headers:
        request.headers[REQUEST_ID_HEADER] = correlation_id


def build_http_client(timeout_s: float = DEFAULT_TIMEOUT_S) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    return httpx.AsyncClient(
        transport=AiohttpTransport(limits=limits, trust_env=False),
        timeout=httpx.Timeout(timeout_s),
        trust_env=False,
        event_hooks={"request": [_propagate_correlation_id]},
    )


def build_session() -> aiohttp.ClientSession:
    """aiohttp without httpx on top: no cookies, no proxies from the environment.

    Callers set their own timeout and correlation headers per request.
    """
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=200, keepalive_timeout=30),
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
    )
