"""Isolation builders for servicing resources: a loan (with its contract) in the victim tenant."""

from __future__ import annotations

from litestar import Litestar

from puhui.servicing.models import Loan
from puhui.tenancy.models import Tenant
from tests.isolation.registry import Victim, register_body, register_builder
from tests.servicing_builders import open_sandbox_loan


@register_builder("loan")
async def loan(app: Litestar, tenant: Tenant) -> Victim:
    row = await open_sandbox_loan(app, tenant)
    return Victim({"loan_id": str(row.id)}, Loan, row.id)


register_body(
    "SignLoanContract", {"code": "123456", "document_sha256": "a" * 64, "device": "attacker"}
)
register_body("CreateRepayment", {"amount_fen": 100, "idempotency_key": "attack-0001"})
register_body("CreateLoanFromApplication", {"settlement_account": "6222020000123456"})
