"""Fake driver-profiles: a driver's identity documents, as ids into `personal`.

Answer: `{"profiles": [{"park_driver_profile_id", "data": [{"type": "passport",
"number_pd_id"}]}]}`; unknown drivers are left out, a driver without a
document has `data: []`.
"""

from __future__ import annotations

from fastapi import APIRouter

from sandbox.context import SandboxDep
from sandbox.peer_models.driver_profiles import (
    IdentityDoc,
    Profile,
    ProfilesAnswer,
    RetrieveIdentityDocs,
)

router = APIRouter(prefix="/v1/identity-docs")


@router.post("/retrieve_by_park_driver_profile_id")
async def retrieve(body: RetrieveIdentityDocs, sandbox: SandboxDep) -> ProfilesAnswer:
    by_id = {f"{d.park_id}_{d.driver_profile_id}": d for d in sandbox.world.drivers.values()}
    profiles = []
    for wanted in body.park_driver_profile_ids:
        driver = by_id.get(wanted)
        if driver is None:
            continue
        docs = []
        if driver.number_pd_id is not None:
            docs.append(IdentityDoc(number_pd_id=driver.number_pd_id))
        profiles.append(Profile(park_driver_profile_id=wanted, data=docs))
    return ProfilesAnswer(profiles=profiles)
