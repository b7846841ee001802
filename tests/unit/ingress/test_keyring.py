"""Key lists: several keys per name, digests only, errors naming the variable."""

from __future__ import annotations

import pytest

from ingress.keyring import InvalidKeys, KeyRing, bearer_token


def test_a_name_may_have_several_keys_and_each_is_its_own() -> None:
    ring = KeyRing.parse("mobi=old, mobi=new, acme=a1", "PARTNER_KEYS")
    assert ring.names == ["acme", "mobi"]
    assert [ring.owner_of(k) for k in ("old", "new", "a1", "nope")] == [
        "mobi",
        "mobi",
        "acme",
        None,
    ]
    assert "old" not in repr(vars(ring)) and "new" not in repr(vars(ring))


def test_the_same_key_twice_for_one_name_is_harmless() -> None:
    assert KeyRing.parse("mobi=k,mobi=k", "PARTNER_KEYS").owner_of("k") == "mobi"


@pytest.mark.parametrize("raw", ["", "mobi", "Mobi=k", "mobi=s3cr3t,acme=s3cr3t", "mobi=s3 cr3t"])
def test_a_bad_list_is_refused_naming_the_variable_never_a_key(raw: str) -> None:
    with pytest.raises(InvalidKeys) as caught:
        KeyRing.parse(raw, "INTERNAL_KEYS")
    assert str(caught.value).startswith("INTERNAL_KEYS")
    assert "s3cr3t" not in str(caught.value)


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        ("Basic abc", None),
        ("Bearer", None),
        ("Bearer ", None),
        ("abc", None),
        (None, None),
    ],
)
def test_the_bearer_token_is_read_from_the_authorization_header(
    header: str | None, token: str | None
) -> None:
    assert bearer_token(header) == token
