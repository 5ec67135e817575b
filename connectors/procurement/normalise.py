"""Procurement upstream rows → canonical records (JR/T 0269 6.4.2 b)."""

from __future__ import annotations

from collections.abc import Mapping

from connectors.cleaning import (
    parse_amount_fen,
    parse_date,
    parse_optional_date,
    require_text,
    require_uscc,
)
from connectors.procurement.schemas import PaymentReceived, ProcurementAward, PurchaseOrder

__all__ = [
    "AWARD_FIELDS",
    "ORDER_FIELDS",
    "PAYMENT_FIELDS",
    "normalise_award",
    "normalise_order",
    "normalise_payment",
]

AWARD_FIELDS = (
    "award_no",
    "supplier_uscc",
    "purchaser",
    "project_name",
    "award_date",
    "award_amount",
    "contract_no",
    "contract_date",
)
ORDER_FIELDS = ("po_no", "supplier_uscc", "contract_no", "purchaser", "order_date", "order_amount")
PAYMENT_FIELDS = ("payment_no", "supplier_uscc", "payer_name", "pay_date", "pay_amount")


def normalise_award(row: Mapping[str, object]) -> ProcurementAward:
    contract = row.get("contract_no")
    return ProcurementAward(
        award_id=require_text(row, "award_no"),
        uscc=require_uscc(row, "supplier_uscc"),
        buyer=require_text(row, "purchaser"),
        project=require_text(row, "project_name"),
        awarded_on=parse_date(row, "award_date"),
        amount_fen=parse_amount_fen(row, "award_amount"),
        contract_id=str(contract).strip()
        if isinstance(contract, str) and contract.strip()
        else None,
        contract_signed_on=parse_optional_date(row, "contract_date"),
    )


def normalise_order(row: Mapping[str, object]) -> PurchaseOrder:
    return PurchaseOrder(
        order_id=require_text(row, "po_no"),
        uscc=require_uscc(row, "supplier_uscc"),
        contract_id=require_text(row, "contract_no"),
        buyer=require_text(row, "purchaser"),
        ordered_on=parse_date(row, "order_date"),
        amount_fen=parse_amount_fen(row, "order_amount"),
    )


def normalise_payment(row: Mapping[str, object]) -> PaymentReceived:
    return PaymentReceived(
        payment_id=require_text(row, "payment_no"),
        uscc=require_uscc(row, "supplier_uscc"),
        payer=require_text(row, "payer_name"),
        received_on=parse_date(row, "pay_date"),
        amount_fen=parse_amount_fen(row, "pay_amount"),
    )
