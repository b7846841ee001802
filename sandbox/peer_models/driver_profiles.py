"""driver-profiles: a driver's identity documents, as ids into `personal`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class RetrieveIdentityDocs(BaseModel):
    """`POST /v1/identity-docs/retrieve_by_park_driver_profile_id`."""

    park_driver_profile_ids: list[str]


class IdentityDoc(BaseModel):
    type: Literal["passport"] = "passport"
    number_pd_id: str


class Profile(BaseModel):
    park_driver_profile_id: str
    data: list[IdentityDoc]


class ProfilesAnswer(BaseModel):
    profiles: list[Profile]
