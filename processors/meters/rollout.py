"""`METERS_ROLLOUT`: `none`, `all`, `percent:<0..100>` or `drivers:<id>,<id>...`."""

from __future__ import annotations

import re

from processors.meters.domain import Rollout

_DRIVER_ID = re.compile(r"^[A-Za-z0-9._:-]{1,257}$")
EXPECTED = "expected none, all, percent:<0..100> or drivers:<id>,<id>..."


class InvalidRollout(ValueError):
    """The setting is not one of the accepted forms; the message says why (not the value)."""


def parse_rollout(text: str) -> Rollout:
    value = text.strip()
    kind, sep, argument = value.partition(":")
    kind = kind.strip().lower()
    if not sep and kind == "none":
        return Rollout(mode="none")
    if not sep and kind == "all":
        return Rollout(mode="all")
    if sep and kind == "percent":
        argument = argument.strip()
        if not argument.isdigit() or not 0 <= int(argument) <= 100:
            raise InvalidRollout(f"percent must be a whole number 0..100; {EXPECTED}")
        return Rollout(mode="percent", percent=int(argument))
    if sep and kind == "drivers":
        drivers = [d.strip() for d in argument.split(",") if d.strip()]
        if not drivers:
            raise InvalidRollout(f"drivers: needs at least one driver id; {EXPECTED}")
        bad = [d for d in drivers if not _DRIVER_ID.match(d)]
        if bad:
            raise InvalidRollout(f"{len(bad)} driver id(s) with unexpected characters; {EXPECTED}")
        return Rollout(mode="drivers", drivers=frozenset(drivers))
    raise InvalidRollout(f"unknown form; {EXPECTED}")
