"""The sandbox: one bank operator tenant, partner tenants with members, and SME customers.

Idempotent: rerunning finds what exists by its natural key and adds only what is missing.
Refuses to run unless PUHUI_SANDBOX is true: sandbox passwords are public by design.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from puhui.config import Settings
from puhui.customers.seed import seed_customers
from puhui.db.session import SessionFactory, tenant_bypass
from puhui.identity.passwords import hash_password
from puhui.lending.seed import seed_lending
from puhui.tenancy.models import Member, MemberStatus, Tenant, TenantKind, TenantStatus
from puhui.tenancy.repository import MemberRepository, TenantRepository

__all__ = ["SANDBOX_PASSWORD", "SANDBOX_TENANTS", "SandboxLogin", "seed_sandbox"]

SANDBOX_PASSWORD = "Sandbox-Pass-2026"  # noqa: S105 - published sandbox credential, refused outside sandbox


class SeedMember(msgspec.Struct, frozen=True):
    email: str
    name: str
    roles: tuple[str, ...]


class SeedTenant(msgspec.Struct, frozen=True):
    code: str
    name: str
    kind: TenantKind
    status: TenantStatus
    uscc: str | None
    scenario_type: str | None
    members: tuple[SeedMember, ...]


class SandboxLogin(msgspec.Struct, frozen=True):
    tenant: str
    email: str
    roles: tuple[str, ...]


SANDBOX_TENANTS: tuple[SeedTenant, ...] = (
    SeedTenant(
        "puhui-bank",
        "普惠银行 Puhui Bank",
        TenantKind.BANK,
        TenantStatus.ACTIVE,
        "91110000100000000A",
        None,
        (
            SeedMember("operator@puhui.bank", "王运营 Wang (operator)", ("operator",)),
            SeedMember("risk@puhui.bank", "李风控 Li (risk officer)", ("risk_officer",)),
            SeedMember("auditor@puhui.bank", "赵审计 Zhao (auditor)", ("auditor",)),
        ),
    ),
    SeedTenant(
        "gov-procure",
        "阳光政采平台 Sunshine e-Procurement",
        TenantKind.SCENARIO_PROVIDER,
        TenantStatus.ACTIVE,
        "91310000MA1FL0BQ2N",
        "procurement",
        (
            SeedMember("owner@gov-procure.example", "Owner, Sunshine e-Procurement", ("owner",)),
            SeedMember(
                "dev@gov-procure.example", "Developer, Sunshine e-Procurement", ("developer",)
            ),
        ),
    ),
    SeedTenant(
        "payroll-cloud",
        "薪云 Payroll Cloud",
        TenantKind.SCENARIO_PROVIDER,
        TenantStatus.ACTIVE,
        "91330100MA2H3K8X1P",
        "payroll",
        (
            SeedMember("owner@payroll-cloud.example", "Owner, Payroll Cloud", ("owner",)),
            SeedMember("dev@payroll-cloud.example", "Developer, Payroll Cloud", ("developer",)),
        ),
    ),
    SeedTenant(
        "shop-app",
        "小店宝 Shop App",
        TenantKind.CHANNEL_APP,
        TenantStatus.PENDING,
        None,
        "marketplace",
        (SeedMember("owner@shop-app.example", "Owner, Shop App", ("owner",)),),
    ),
)


async def seed_sandbox(
    settings: Settings, db: SessionFactory, progress: Callable[[str], None] | None = None
) -> list[SandboxLogin]:
    if not settings.sandbox:
        raise RuntimeError("refusing to seed sandbox data: PUHUI_SANDBOX is false")
    logins: list[SandboxLogin] = []
    password_hash = hash_password(SANDBOX_PASSWORD)
    for seed in SANDBOX_TENANTS:
        async with db.unit_of_work() as session:
            tenants = TenantRepository(session)
            tenant = await tenants.by_code(seed.code)
            if tenant is None:
                tenant = tenants.add(
                    Tenant(
                        code=seed.code,
                        name=seed.name,
                        kind=seed.kind,
                        status=seed.status,
                        uscc=seed.uscc,
                        scenario_type=seed.scenario_type,
                        plan="bank" if seed.kind is TenantKind.BANK else "sandbox",
                        is_sandbox=seed.kind is not TenantKind.BANK,
                    )
                )
                await tenants.flush()
            with tenant_bypass(session, reason="sandbox.seed"):
                members = MemberRepository(session)
                for m in seed.members:
                    if await members.by_email(m.email) is None:
                        members.add(
                            Member(
                                tenant_id=tenant.id,
                                email=m.email,
                                display_name=m.name,
                                roles=list(m.roles),
                                password_hash=password_hash,
                                status=MemberStatus.ACTIVE,
                            )
                        )
                    logins.append(SandboxLogin(seed.code, m.email, m.roles))
                await members.flush()
        if progress:
            progress(seed.code)
    await seed_lending(settings, db)  # products, baseline rule set, sandbox scorecard
    if progress:
        progress("lending")
    for customer in await seed_customers(settings, db, password_hash):  # SME sign-ins (consent)
        logins.append(SandboxLogin(customer.persona.name, customer.phone, ("sme_customer",)))
    return logins
