"""Without a faithful PDF renderer the HTML is still signed; asking for the PDF is a 503 problem."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar
from tests.builders import member_client
from tests.servicing_builders import open_sandbox_loan, sign_loan

import puhui.servicing.pdf as pdf
from puhui.jobs import JobContext, discover, run_job
from puhui.servicing.repository import ContractRepository

pytestmark = pytest.mark.anyio


async def test_missing_system_libraries_answer_503_and_signing_goes_on(
    app: Litestar, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    partner, tenant, _ = await member_client(app, ("owner",))
    loan = await open_sandbox_loan(app, tenant)
    url = f"/api/v1/loans/{loan.id}/contract/document"
    preview = await partner.get(url, headers={"Accept": "application/pdf"})
    assert preview.status_code == 200  # unsigned: rendered on the fly, nothing sealed
    assert "x-pdf-sha256" not in preview.headers

    monkeypatch.setattr(pdf, "_weasyprint", lambda: "WeasyPrint cannot load (OSError: libpango)")
    await sign_loan(app, tenant, loan)
    async with app.state.db.unit_of_work(tenant.id) as session:
        contract = await ContractRepository(session).for_loan(loan.id)
        assert contract.status.value == "signed"
        assert contract.pdf_sha256 is None
        assert contract.evidence is not None
        assert contract.evidence["renditions"] == []
        assert "libpango" in contract.evidence["pdf_unavailable"]

    refused = await partner.get(url, headers={"Accept": "application/pdf"})
    assert refused.status_code == 503
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"].endswith("contract-pdf-unavailable")
    html = await partner.get(url, headers={"Accept": "text/html, application/pdf;q=0.5"})
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")


async def test_every_servicing_job_is_registered_and_runs(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    names = {n for n in discover() if n.startswith("servicing.")}
    assert names == {
        "servicing.accrual",
        "servicing.auto_debit",
        "servicing.monitoring",
        "servicing.reconcile",
        "servicing.renewal",
        "servicing.warnings",
    }
    ctx = JobContext(settings=app.state.settings, db=app.state.db)
    for name in sorted(names):
        result = await run_job(name, ctx)
        assert result is not None
        assert (name, result.outcome, result.error) == (name, "ok", None)
