"""Canonical records of the procurement connector: awards and contracts, orders, payments."""

from __future__ import annotations

from datetime import date

import msgspec

__all__ = ["PaymentReceived", "ProcurementAward", "PurchaseOrder"]


class ProcurementAward(msgspec.Struct, frozen=True, kw_only=True):
    """A government e-procurement award (中标) and the contract signed on it."""

    award_id: str
    uscc: str
    buyer: str
    project: str
    awarded_on: date
    amount_fen: int
    contract_id: str | None
    contract_signed_on: date | None


class PurchaseOrder(msgspec.Struct, frozen=True, kw_only=True):
    """A purchase order called off under an awarded contract."""

    order_id: str
    uscc: str
    contract_id: str
    buyer: str
    ordered_on: date
    amount_fen: int


class PaymentReceived(msgspec.Struct, frozen=True, kw_only=True):
    """A payment the supplier received from a public buyer."""

    payment_id: str
    uscc: str
    payer: str
    received_on: date
    amount_fen: int
