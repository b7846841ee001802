"""Every refusal of the payments use cases has its HTTP status in the one table."""

from __future__ import annotations

import pytest

from processors.payments import errors
from schemas.errors import HTTP_STATUS_BY_CODE


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.PaymentNotFound, 404),
        (errors.IdempotencyConflict, 409),
        (errors.PaymentNotCancellable, 409),
        (errors.PaymentNotRefundable, 409),
        (errors.RefundExceedsPayment, 409),
        (errors.PaymentsUnavailable, 503),
    ],
)
def test_each_payment_error_code_has_the_contracts_status(
    error: type[errors.PaymentError], status: int
) -> None:
    assert HTTP_STATUS_BY_CODE[error.code] == status


def test_every_payment_error_is_in_the_table() -> None:
    codes = {cls.code for cls in errors.PaymentError.__subclasses__()}
    assert codes <= HTTP_STATUS_BY_CODE.keys()


def test_the_table_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        HTTP_STATUS_BY_CODE["payment_not_found"] = 500  # type: ignore[index]
