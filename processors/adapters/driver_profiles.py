"""driver-profiles behind the `IdentityDocs` port: the id under which `personal`
keeps the driver's identity document number (not the number)."""

from __future__ import annotations

from typing import Any

import httpx

from processors.adapters.http_peer import HttpPeer
from processors.meters.errors import PeerNotFound

PEER = "driver-profiles"
OPERATION = "retrieve_identity_docs"


def _pd_id(answer: dict[str, Any]) -> str:
    for profile in answer["profiles"]:
        for document in profile.get("data") or []:
            pd_id = document.get("number_pd_id")
            if pd_id:
                return str(pd_id)
    raise PeerNotFound(PEER, OPERATION, "no_identity_doc")


class HttpIdentityDocs:
    def __init__(self, client: httpx.AsyncClient, base_url: str, timeout_s: float) -> None:
        self._http = HttpPeer(client, PEER, base_url, timeout_s)

    async def identity_number_pd_id(self, park_id: str, driver_profile_id: str) -> str:
        body = {"park_driver_profile_ids": [f"{park_id}_{driver_profile_id}"]}
        return await self._http.post(
            OPERATION, "/v1/identity-docs/retrieve_by_park_driver_profile_id", body, _pd_id
        )
