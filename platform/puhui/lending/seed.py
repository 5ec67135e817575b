"""Sandbox lending data: three scenario products, the baseline rule set, the sandbox scorecard.

Idempotent: a product version, rule-set version or model already stored is left as it is; the
scorecard is trained once into ``<var_dir>/models/sandbox`` on synthetic borrowers
(`puhui.risk.synthetic`, a documented generating process) and registered as the active model.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from puhui.config import Settings
from puhui.db.session import SessionFactory
from puhui.lending.products import ProductFees, ProductSpec, Scenario, ServiceHours
from puhui.lending.repository import ProductRepository
from puhui.lending.schedules import RepaymentMethod
from puhui.lending.service import ProductCatalogue
from puhui.risk.decision import RoutingPolicy
from puhui.risk.limits import MitigationKind
from puhui.risk.models import RuleSetVersion
from puhui.risk.registry import ModelRegistry
from puhui.risk.repository import RuleSetRepository
from puhui.risk.rules import AdmissionRuleSet
from puhui.risk.rulesets import DEFAULT_RULESET_FILE, parse_ruleset
from puhui.risk.synthetic import train_sandbox_model

__all__ = [
    "SANDBOX_CHANNELS",
    "SANDBOX_MODEL_ROWS",
    "ensure_baseline_ruleset",
    "ensure_model",
    "sandbox_products",
    "seed_lending",
]

SANDBOX_CHANNELS: Final = ("gov-procure", "payroll-cloud", "shop-app")
SANDBOX_MODEL_ROWS: Final = 5_000  # small: the sandbox model is for trying the flow, not lending
_EFFECTIVE: Final = datetime(2024, 1, 1, tzinfo=UTC)
_BANK: Final = "普惠银行 Puhui Bank"
_HOURS: Final = ServiceHours(days="Mon-Sun", opens="00:00", closes="24:00")
# Master-scale grades (puhui-sme-2024) → annual interest rate; E is declined, not priced.
_PRICING: Final = {
    "A1": Decimal("0.0385"),
    "A2": Decimal("0.0410"),
    "A3": Decimal("0.0435"),
    "B1": Decimal("0.0480"),
    "B2": Decimal("0.0530"),
    "B3": Decimal("0.0590"),
    "C1": Decimal("0.0680"),
    "C2": Decimal("0.0780"),
    "D": Decimal("0.0900"),
}
_ROUTING: Final = RoutingPolicy(
    auto_approval_ceiling_fen=500_000_00,
    review_grades=("C1", "C2", "D"),
    decline_grades=("E",),
    max_staleness_seconds={"tax": 62 * 86_400, "payroll": 62 * 86_400},
)


def sandbox_products(
    channels: Sequence[str] = SANDBOX_CHANNELS, *, prefix: str = ""
) -> tuple[ProductSpec, ...]:
    """The sandbox's three scenario products (8.4.1), offered through `channels`."""
    common = {
        "version": 1,
        "issuer": _BANK,
        "service_hours": _HOURS,
        "effective_from": _EFFECTIVE,
        "partner_channels": tuple(channels),
        "pricing": dict(_PRICING),
        "routing": _ROUTING,
        "min_annual_rate": Decimal("0.0385"),
        "max_annual_rate": Decimal("0.0900"),
    }
    return (
        ProductSpec(
            code=f"{prefix}TAX-LOAN",
            name_zh="税务贷",
            name_en="Tax-based Loan",
            suitable_customers_zh="依法纳税满12个月、纳税信用B级及以上的小微企业",
            suitable_customers_en="Small businesses with 12 months of tax filings, tax grade B+",
            scenario=Scenario.TAX,
            min_amount_fen=10_000_00,
            max_amount_fen=1_000_000_00,
            term_options_months=(6, 12),
            repayment_methods=(RepaymentMethod.EQUAL_INSTALMENT, RepaymentMethod.INTEREST_ONLY),
            required_sources=("tax",),
            **common,  # type: ignore[arg-type]
        ),
        ProductSpec(
            code=f"{prefix}PROCURE-LOAN",
            name_zh="政采贷",
            name_en="Procurement-contract Loan",
            suitable_customers_zh="中标政府采购合同的小微企业供应商",
            suitable_customers_en="Small suppliers holding government procurement contracts",
            scenario=Scenario.PROCUREMENT,
            min_amount_fen=50_000_00,
            max_amount_fen=3_000_000_00,
            term_options_months=(3, 6, 12),
            repayment_methods=(RepaymentMethod.INTEREST_ONLY, RepaymentMethod.BULLET),
            fees=ProductFees(upfront_fee_bps=50),
            required_sources=("tax", "procurement"),
            mitigations=(MitigationKind.GOVERNMENT_PROCUREMENT_ASSIGNMENT,),
            **common,  # type: ignore[arg-type]
        ),
        ProductSpec(
            code=f"{prefix}PAYROLL-LOAN",
            name_zh="薪资贷",
            name_en="Payroll Loan",
            suitable_customers_zh="连续代发工资满6个月的小微企业",
            suitable_customers_en="Small businesses paying salaries through payroll for 6 months",
            scenario=Scenario.PAYROLL,
            min_amount_fen=10_000_00,
            max_amount_fen=500_000_00,
            term_options_months=(3, 6, 12),
            repayment_methods=(RepaymentMethod.EQUAL_PRINCIPAL, RepaymentMethod.EQUAL_INSTALMENT),
            fees=ProductFees(instalment_fee_fen=10_00),
            required_sources=("tax", "payroll"),
            **common,  # type: ignore[arg-type]
        ),
    )


async def ensure_products(session: AsyncSession, specs: Sequence[ProductSpec]) -> None:
    catalogue, rows = ProductCatalogue(session), ProductRepository(session)
    for spec in specs:
        if await rows.find(spec.code, spec.version) is None:
            await catalogue.publish(spec)


async def ensure_baseline_ruleset(session: AsyncSession) -> AdmissionRuleSet:
    """Store the shipped baseline rule set (9.2.2 a) unless that version is already published."""
    document = DEFAULT_RULESET_FILE.read_bytes()
    compiled = parse_ruleset(document)
    rows = RuleSetRepository(session)
    if await rows.find(compiled.id, compiled.version) is None:
        rows.add(
            RuleSetVersion(
                ruleset_id=compiled.id,
                version=compiled.version,
                effective_from=compiled.effective_from,
                content_hash=compiled.content_hash,
                document=document.decode("utf-8"),
                published_by=None,
                note="baseline shipped with the platform",
            )
        )
        await rows.flush()
    return compiled


async def ensure_model(session: AsyncSession, directory: Path, *, rows: int) -> None:
    """Train the sandbox scorecard once into `directory`, register it, make it active."""
    model_file = directory / "model.json"
    if not model_file.exists():
        _train_once(directory, model_file, rows)
    await ModelRegistry(session).register(model_file.read_bytes(), activate=True)


def _train_once(directory: Path, model_file: Path, rows: int) -> None:
    """Train in a scratch directory, then publish the model with a hard link, which fails if a
    model is already there: when two processes seed at once, the first model stands and every
    seed registers that one (a model carries its training time, so two trainings differ), and
    nobody reads a half-written file. The winner's metrics and report go beside it."""
    directory.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".training-", dir=directory))
    try:
        files = train_sandbox_model(scratch, n=rows)
        try:
            os.link(files.model, model_file)
        except FileExistsError:
            return  # another process published first
        for trained in scratch.iterdir():
            if trained != files.model:
                os.replace(trained, directory / trained.name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


async def seed_lending(settings: Settings, db: SessionFactory) -> None:
    async with db.unit_of_work() as session:
        await ensure_products(session, sandbox_products())
        await ensure_baseline_ruleset(session)
        await ensure_model(
            session, settings.var_dir / "models" / "sandbox", rows=SANDBOX_MODEL_ROWS
        )
