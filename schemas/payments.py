"""Partner payments: the partner-neutral commands on `payment-requests`, their replies,
and the Mobi partner's HTTP bodies (contract 2.1).

The commands know no partner protocol: a partner adapter in the ingress turns its
own body into one of them. Transaction ids are text here (partners differ); Mobi's
are integers and its adapter converts.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, StrictInt

from schemas.text import printable


class PaymentStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class DeclineReason(StrEnum):
    INVALID_QR = "invalid_qr"
    QR_EXPIRED = "qr_expired"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    DRIVER_REJECTED = "driver_rejected"
    ACCEPTANCE_TIMEOUT = "acceptance_timeout"
    LIMIT_EXCEEDED = "limit_exceeded"
    CONTRACTOR_BLOCKED = "contractor_blocked"
    PAYMENTS_UNAVAILABLE = "payments_unavailable"


PartnerName = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")]
TransactionRef = Annotated[str, printable(1, 128)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
MinorUnits = Annotated[StrictInt, Field(gt=0, le=10**15)]


class Merchant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = printable(1, 128)
    name: str | None = printable(0, 256, default=None)
    mcc: str | None = Field(default=None, pattern=r"^[0-9]{4}$")


# Commands (value of `payment-requests`, key `partner:transaction_id`)


class AuthorizePayment(BaseModel):
    kind: Literal["authorize"] = "authorize"
    partner: PartnerName
    transaction_id: TransactionRef
    # Derived from (partner, transaction_id) by the ingress; the row keeps the first.
    payment_id: str = Field(min_length=1, max_length=64)
    qr_code: str = printable(1, 512)
    amount: MinorUnits
    currency: Currency
    merchant: Merchant
    terminal_id: str | None = printable(0, 64, default=None)
    requested_at: datetime


class CancelPayment(BaseModel):
    kind: Literal["cancel"] = "cancel"
    partner: PartnerName
    transaction_id: TransactionRef
    payment_id: str = Field(min_length=1, max_length=64)


class RefundPayment(BaseModel):
    kind: Literal["refund"] = "refund"
    partner: PartnerName
    transaction_id: TransactionRef
    refund_id: str = printable(1, 128)
    amount: MinorUnits


class PaymentCommand(RootModel[AuthorizePayment | CancelPayment | RefundPayment]):
    """Value of `payment-requests`: one of the commands, told apart by `kind`."""

    root: Annotated[AuthorizePayment | CancelPayment | RefundPayment, Field(discriminator="kind")]


# pydantic files the parametrized base (`RootModel[...]`) in this module's namespace;
# it is not a message of ours, so keep it out of the exported schemas.
for _name in [name for name in globals() if name.startswith("RootModel[")]:
    del globals()[_name]


# Replies (the `result` of a `schemas.envelope.Reply`)


class PaymentResult(BaseModel):
    """A payment as the core knows it; partner adapters map it to their bodies."""

    # Read from the core's payment by field name.
    model_config = ConfigDict(from_attributes=True)

    partner: str
    transaction_id: str
    payment_id: str
    status: PaymentStatus
    decline_reason: DeclineReason | None = None
    # Absent for a cancel recorded before its authorization arrived.
    amount: int | None = None
    currency: str | None = None
    refunded_total: int = 0


class RefundResult(BaseModel):
    partner: str
    transaction_id: str
    payment_id: str
    refund_id: str
    status: Literal["succeeded"] = "succeeded"
    amount: int
    refunded_total: int


# Mobi HTTP bodies (contract 2.1)

MobiTransactionId = Annotated[StrictInt, Field(gt=0, le=2**63 - 1)]


class MobiPaymentRequest(BaseModel):
    """`POST /mobi/v1/payments`."""

    model_config = ConfigDict(extra="forbid")

    transaction_id: MobiTransactionId
    qr_code: str = printable(1, 512)
    amount: MinorUnits
    currency: Currency
    merchant: Merchant
    terminal_id: str | None = printable(1, 64, default=None)


class MobiPayment(BaseModel):
    """The answer of authorize, status and cancel."""

    transaction_id: int
    payment_id: str
    status: PaymentStatus
    decline_reason: DeclineReason | None = None
    amount: int | None = None
    currency: str | None = None


class MobiRefundRequest(BaseModel):
    """`POST /mobi/v1/payments/{transaction_id}/refunds`."""

    model_config = ConfigDict(extra="forbid")

    refund_id: str = printable(1, 128)
    amount: MinorUnits


class MobiRefund(BaseModel):
    refund_id: str
    transaction_id: int
    status: Literal["succeeded"] = "succeeded"
    amount: int
    refunded_total: int
