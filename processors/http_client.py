"""The one HTTP client a worker shares across peers.

httpx's API (and `MockTransport` in adapter tests) over aiohttp's transport:
plain httpx cost a quarter of a worker's CPU on this machine.
"""

from __future__ import annotations

import httpx
from httpx_aiohttp import AiohttpTransport

DEFAULT_TIMEOUT_S = 5.0


def build_http_client(timeout_s: float = DEFAULT_TIMEOUT_S) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    return httpx.AsyncClient(
        transport=AiohttpTransport(limits=limits, trust_env=False),
        timeout=httpx.Timeout(timeout_s),
        trust_env=False,
    )
