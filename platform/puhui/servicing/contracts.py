"""Loan contracts rendered from a versioned Jinja2 template per product version (JR/T 0269 9.4).

The rendered HTML is the contract: it is stored byte for byte with its SHA-256 and never
re-rendered. Templates live in ``partner_portal/templates/contracts/<product>/<version>.html``,
with ``standard/v1.html`` for products without their own. The PDF is a rendering of this HTML
(``puhui.servicing.pdf``), sealed beside it at signing.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.clock import utcnow
from puhui.errors import Conflict
from puhui.lending.schedules import Schedule
from puhui.money import format_yuan
from puhui.servicing.models import Contract, ContractStatus, Loan

__all__ = [
    "TEMPLATE_ROOT",
    "document_hash",
    "generate",
    "mark_effective",
    "send",
    "template_for",
    "void",
]

TEMPLATE_ROOT: Final = (
    Path(__file__).resolve().parents[3] / "partner_portal" / "templates" / "contracts"
)
DEFAULT_TEMPLATE: Final = "standard/v1.html"
_METHOD_LABELS: Final = {
    "equal_instalment": "等额本息 Equal instalment",
    "equal_principal": "等额本金 Equal principal",
    "interest_only": "按月付息到期还本 Monthly interest, principal at maturity",
    "bullet": "利随本清 Bullet",
}
_ENV: Final = Environment(
    loader=FileSystemLoader(TEMPLATE_ROOT),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def document_hash(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def template_for(product_code: str, product_version: str) -> str:
    """The product version's own template if it has one, else the standard one."""
    own = f"{product_code}/{product_version}.html"
    return own if (TEMPLATE_ROOT / own).is_file() else DEFAULT_TEMPLATE


def _context(loan: Loan, schedule: Schedule, template: str, channel: str) -> dict[str, Any]:
    markup = Decimal(loan.penalty_markup)
    rate = Decimal(loan.annual_rate)
    return {
        "contract_no": f"PH-{loan.id.hex[:16].upper()}",
        "template": template,
        "bank_name": "普惠银行 Puhui Bank",
        "bank_code": "PHBANK",
        "channel": channel,
        "enterprise_name": loan.enterprise_name,
        "enterprise_uscc": loan.enterprise_uscc,
        "product_code": loan.product_code,
        "product_version": loan.product_version,
        "principal": format_yuan(loan.principal),
        "term_months": loan.term_months,
        "method_label": _METHOD_LABELS[loan.method],
        "annual_rate": f"{(rate * 100).normalize():f}%",
        "day_count": loan.day_count,
        "apr": loan.apr,
        "start_date": loan.start_date.isoformat(),
        "maturity_date": schedule.maturity_date.isoformat(),
        "amount_received": format_yuan(loan.principal - loan.upfront_fee),
        "total_payable": format_yuan(schedule.total_payable),
        "total_cost": format_yuan(schedule.total_payable - loan.principal + loan.upfront_fee),
        "upfront_fee": format_yuan(loan.upfront_fee),
        "instalment_fee": format_yuan(loan.instalment_fee),
        "schedule": [
            {
                "number": i.number,
                "due_date": i.due_date.isoformat(),
                "principal": format_yuan(i.principal),
                "interest": format_yuan(i.interest),
                "fees": format_yuan(i.fees),
                "total": format_yuan(i.total),
                "closing_balance": format_yuan(i.closing_balance),
            }
            for i in schedule.instalments
        ],
        "allocation_order": " → ".join(loan.allocation_order),
        "penalty_markup_percent": f"{(markup * 100).normalize():f}",
        "penalty_rate": f"{(rate * (1 + markup) * 100).normalize():f}%",
        "consent_ref": str(loan.consent_id) if loan.consent_id else "—",
        "monitoring_until": (
            loan.monitoring_consent_until.isoformat() if loan.monitoring_consent_until else "—"
        ),
        "complaints_url": "https://open.puhui.example/complaints",
    }


def generate(session: AsyncSession, loan: Loan, schedule: Schedule, channel: str) -> Contract:
    """Render and store the contract for ``loan`` in state ``generated``."""
    template = template_for(loan.product_code, loan.product_version)
    document = _ENV.get_template(template).render(_context(loan, schedule, template, channel))
    contract = Contract(
        tenant_id=loan.tenant_id,
        loan_id=loan.id,
        template=template,
        document=document,
        document_sha256=document_hash(document),
        status=ContractStatus.GENERATED,
    )
    session.add(contract)
    return contract


def send(contract: Contract, at: datetime | None = None) -> None:
    """generated → sent (sending again is a no-op while it waits for the signature)."""
    if contract.status is ContractStatus.SENT:
        return
    if contract.status is not ContractStatus.GENERATED:
        raise Conflict(f"A {contract.status} contract cannot be sent.")
    contract.status = ContractStatus.SENT
    contract.sent_at = at or utcnow()


def mark_effective(contract: Contract, at: datetime | None = None) -> None:
    """signed → effective, when the loan is disbursed."""
    if contract.status is ContractStatus.EFFECTIVE:
        return
    if contract.status is not ContractStatus.SIGNED:
        raise Conflict(f"A {contract.status} contract cannot take effect.")
    contract.status = ContractStatus.EFFECTIVE
    contract.effective_at = at or utcnow()


def void(contract: Contract, reason: str, at: datetime | None = None) -> None:
    """Void a contract that has not taken effect (an effective contract is never voided)."""
    if contract.status in (ContractStatus.EFFECTIVE, ContractStatus.VOIDED):
        raise Conflict(f"A {contract.status} contract cannot be voided.")
    contract.status = ContractStatus.VOIDED
    contract.voided_at = at or utcnow()
    contract.void_reason = reason[:500]
