"""personal behind the `PersonalData` port: the identity document number, wrapped
at once in `IdentityNumber` so nothing that prints it shows the number."""

from __future__ import annotations

from typing import Any

import httpx

from processors.adapters.http_peer import HttpPeer
from processors.meters.errors import PeerNotFound
from processors.meters.ports import IdentityNumber

PEER = "personal"
OPERATION = "retrieve_identification"


def _number(answer: dict[str, Any]) -> IdentityNumber:
    value = answer["value"]
    if not isinstance(value, str):
        raise TypeError("value is not text")  # unreadable; the message never holds it
    if not value:
        raise PeerNotFound(PEER, OPERATION, "no_value")
    return IdentityNumber(value)


class HttpPersonalData:
    def __init__(self, client: httpx.AsyncClient, base_url: str, timeout_s: float) -> None:
        self._http = HttpPeer(client, PEER, base_url, timeout_s)

    async def identity_number(self, pd_id: str) -> IdentityNumber:
        return await self._http.post(
            OPERATION, "/v1/identifications/retrieve", {"id": pd_id}, _number
        )
