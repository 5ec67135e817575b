"""Procurement upstream rows → canonical records (JR/T 0269 6.4.2 b)."""

from __future__ import annotations

from connectors.kit import day, fen, mapped, optional_day, optional_text, text, uscc
from connectors.procurement.schemas import PaymentReceived, ProcurementAward, PurchaseOrder

__all__ = ["normalise_award", "normalise_order", "normalise_payment"]

normalise_award = mapped(
    ProcurementAward,
    award_id=text("award_no"),
    uscc=uscc("supplier_uscc"),
    buyer=text("purchaser"),
    project=text("project_name"),
    awarded_on=day("award_date"),
    amount_fen=fen("award_amount"),
    contract_id=optional_text("contract_no"),
    contract_signed_on=optional_day("contract_date"),
)

normalise_order = mapped(
    PurchaseOrder,
    order_id=text("po_no"),
    uscc=uscc("supplier_uscc"),
    contract_id=text("contract_no"),
    buyer=text("purchaser"),
    ordered_on=day("order_date"),
    amount_fen=fen("order_amount"),
)

normalise_payment = mapped(
    PaymentReceived,
    payment_id=text("payment_no"),
    uscc=uscc("supplier_uscc"),
    payer=text("payer_name"),
    received_on=day("pay_date"),
    amount_fen=fen("pay_amount"),
)
