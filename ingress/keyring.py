"""Named callers and their keys (`<name>=<key>[,<name>=<key>...]`), kept only as digests.

A name may appear more than once: each of its keys is valid, so a key is rotated
without downtime (add the new one, move the callers over, drop the old one).
A presented key is hashed and compared with every digest in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Self

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


class InvalidKeys(ValueError):
    """A key list cannot be understood; the message names the variable, never a key."""


class KeyRing:
    def __init__(self, digests: list[tuple[str, bytes]]) -> None:
        self._digests = list(digests)

    @classmethod
    def parse(cls, raw: str, variable: str) -> Self:
        digests: list[tuple[str, bytes]] = []
        for position, item in enumerate(raw.split(","), start=1):
            name, sep, key = item.strip().partition("=")
            name, key = name.strip(), key.strip()
            if not sep or not _NAME.match(name):
                raise InvalidKeys(
                    f"{variable}: entry {position} must be <name>=<key> with a lowercase name,"
                    " e.g. mobi=<key>"
                )
            if not key or any(c.isspace() or not c.isprintable() for c in key):
                raise InvalidKeys(f"{variable}: a key of {name!r} is empty or has spaces")
            digest = hashlib.sha256(key.encode()).digest()
            owners = {owner for owner, known in digests if known == digest}
            if owners - {name}:
                raise InvalidKeys(f"{variable}: a key of {name!r} is another's too")
            if not owners:
                digests.append((name, digest))
        return cls(digests)

    @property
    def names(self) -> list[str]:
        return sorted({name for name, _ in self._digests})

    def owner_of(self, presented: str) -> str | None:
        """Whose key this is, or None. Looks at every key, whatever matches."""
        digest = hashlib.sha256(presented.encode("utf-8", "surrogateescape")).digest()
        found: str | None = None
        for name, expected in self._digests:
            if hmac.compare_digest(digest, expected):
                found = name
        return found


def bearer_token(authorization: str | None) -> str | None:
    """The token of `Authorization: Bearer <token>`, or None."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token
