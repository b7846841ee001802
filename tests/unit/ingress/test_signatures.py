"""Request signatures of signed partners: `t=<unix s>,v1=<hex HMAC-SHA256 of "t.body">`."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from ingress.signatures import TOLERANCE_S, sign, signature_is_valid

KEY, BODY, NOW = "partner-key", b'{"amount": 100}', 1_800_000_000


def test_a_signature_is_the_hmac_of_timestamp_dot_body() -> None:
    expected = hmac.new(KEY.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(KEY, NOW, BODY) == f"t={NOW},v1={expected}"


@pytest.mark.parametrize("age", [0, 1, TOLERANCE_S, -TOLERANCE_S])
def test_a_right_signature_within_the_tolerance_is_valid(age: int) -> None:
    assert signature_is_valid(sign(KEY, NOW - age, BODY), KEY, BODY, NOW)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        f"t={NOW}",
        f"v1={'0' * 64}",
        f"t={NOW},v1=",
        f"t=abc,v1={'0' * 64}",
        f"t={NOW},t={NOW},v1={'0' * 64}",
        f"t={NOW},v1={'0' * 64}",
        sign(KEY, NOW - TOLERANCE_S - 1, BODY),
        sign(KEY, NOW + TOLERANCE_S + 1, BODY),
        sign("another-key", NOW, BODY),
        sign(KEY, NOW, BODY + b" "),
        sign(KEY, NOW, BODY).upper(),
        "t=1," + "v1=x," * 200,
    ],
)
def test_a_missing_malformed_stale_or_wrong_signature_is_invalid(header: str | None) -> None:
    assert not signature_is_valid(header, KEY, BODY, NOW)


def test_one_right_candidate_among_several_is_enough() -> None:
    right = sign(KEY, NOW, BODY).split(",")[1]
    header = f"t={NOW},v1={'0' * 64},{right}"
    assert signature_is_valid(header, KEY, BODY, NOW)
