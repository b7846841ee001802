"""The fake peers forget their oldest history, so a long benchmark levels off in memory."""

from __future__ import annotations

from typing import Any

from sandbox.state import Driver, LedgerEntry, World


def _driver() -> Driver:
    return Driver(
        park_id="p",
        driver_profile_id="d",
        balance=10**9,
        currency="RUB",
        qr_code="qr",
        acceptance="auto",
        id_number=None,
        car_id=None,
        permit_number=None,
        blocked=False,
        qr_expired=False,
        payment_limit=None,
    )


def _debit(n: int) -> LedgerEntry:
    return LedgerEntry("debit", 1, f"payment:{n}", f"{n}", "2026-11-23T00:00:00Z")


def test_the_ledger_keeps_about_the_latest_entries_and_stays_idempotent_for_them() -> None:
    driver = _driver()
    for n in range(1000):
        assert driver.post(_debit(n), keep=100)

    assert 100 <= len(driver.ledger) <= 200
    assert driver.ledger[-1].payment_id == "999"
    assert len(driver.posted_keys) == len(driver.ledger)
    assert not driver.post(_debit(999), keep=100), "a recent key is still known"
    assert driver.balance == 10**9 - 1000


def test_the_world_forgets_the_oldest_payments_beyond_its_limit() -> None:
    world = World(history_limit=3)
    for n in range(5):
        payment: Any = type("P", (), {"payment_id": f"pay-{n}"})()
        world.remember_payment(payment)

    assert list(world.payments) == ["pay-2", "pay-3", "pay-4"]
