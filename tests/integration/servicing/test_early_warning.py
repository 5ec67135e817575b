"""Post-loan early warning: simulated scenario data changes raise warnings and disposals."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from litestar import Litestar
from tests.builders import member_client
from tests.lending_builders import new_uscc
from tests.servicing_builders import CoreBankServer, active_sandbox_loan, replace_features

from puhui.lending.service import scenario_features
from puhui.servicing.early_warning import run_warnings
from puhui.servicing.repository import LoanRepository
from puhui.tenancy.models import TenantKind

pytestmark = pytest.mark.anyio

HEALTHY = {
    "tax.declared_revenue_12m_fen": 500_000_000,
    "tax.credit_grade": "A",
    "tax.arrears_count_24m": 0,
    "utilities.arrears_count": 0,
    "payroll.headcount": 40,
    "procurement.award_count_12m": 10,
}


async def test_data_changes_raise_warnings_that_staff_dispose_of(
    app: Litestar, client: httpx.AsyncClient, corebank: CoreBankServer
) -> None:
    partner, tenant, _ = await member_client(app, ("owner",))
    operator, _, _ = await member_client(app, ("operator",), kind=TenantKind.BANK)
    uscc = new_uscc()
    loan = await active_sandbox_loan(
        app, tenant, corebank.url, enterprise_uscc=uscc, monitoring_consent_until=date(2030, 1, 1)
    )
    sessions = app.state.db
    today = date(2026, 6, 1)

    await replace_features(app, uscc, HEALTHY)
    first = await run_warnings(sessions, scenario_features, today)
    assert first.warnings_raised == 0  # the first look only records the baseline

    await replace_features(
        app,
        uscc,
        {
            **HEALTHY,
            "tax.declared_revenue_12m_fen": 300_000_000,  # -40 %
            "tax.credit_grade": "C",
            "tax.arrears_count_24m": 1,
            "payroll.headcount": 38,  # -5 %: below the 30 % rule
        },
    )
    second = await run_warnings(sessions, scenario_features, today)
    assert second.warnings_raised == 3
    assert (await run_warnings(sessions, scenario_features, today)).warnings_raised == 0

    listed = (await partner.get(f"/api/v1/loans/{loan.id}/warnings")).json()
    assert {(w["rule"], w["severity"], w["action"]) for w in listed} == {
        ("revenue_drop", "high", "require_review"),
        ("tax_grade_downgrade", "high", "reduce_limit"),
        ("new_tax_arrears", "high", "freeze_limit"),
    }
    assert {w["disposal_state"] for w in listed} == {"open"}
    async with sessions.unit_of_work(tenant.id) as session:
        held = await LoanRepository(session).get(loan.id)
        assert held.limit_frozen is True
        assert "review_required" in held.flags

    # The disposal workflow: open -> in progress -> completed, each step audited.
    freeze = next(w for w in listed if w["rule"] == "new_tax_arrears")
    url = f"/api/v1/operator/servicing/disposals/{freeze['disposal_id']}/transitions"
    started = await operator.post(url, json={"state": "in_progress", "version": 1})
    assert started.status_code == 200, started.text
    closing_without_outcome = await operator.post(url, json={"state": "completed", "version": 2})
    assert closing_without_outcome.status_code == 409
    done = await operator.post(
        url, json={"state": "completed", "version": 2, "outcome": "limit frozen; arrears paid"}
    )
    assert done.json()["state"] == "completed"
    reopened = await operator.post(url, json={"state": "in_progress", "version": 3})
    assert reopened.status_code == 409
    open_ones = await operator.get("/api/v1/operator/servicing/disposals?state=open&limit=200")
    assert freeze["disposal_id"] not in {d["id"] for d in open_ones.json()}

    # Consent has ended: monitoring stops and further changes raise nothing.
    ended = await run_warnings(sessions, scenario_features, date(2030, 1, 2))
    assert ended.monitoring_stopped >= 1  # (other tests' loans may share the database)
    async with sessions.unit_of_work(tenant.id) as session:
        assert (await LoanRepository(session).get(loan.id)).monitoring_active is False
    await replace_features(app, uscc, {**HEALTHY, "tax.credit_grade": "D"})
    assert (await run_warnings(sessions, scenario_features, date(2030, 1, 3))).warnings_raised == 0
