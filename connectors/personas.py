"""Seeded SME personas served by every simulator, so the sandbox tells one coherent story.

Five small and micro enterprises: healthy, declining, in arrears, thin-file and suspicious.
Each simulator derives its data from the same traits, so tax revenue, electricity use,
payroll and procurement agree with one another the way real data would (or, for the
suspicious persona, deliberately do not).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

import msgspec

__all__ = [
    "PERSONAS",
    "REFERENCE_DATE",
    "Persona",
    "PersonaProfile",
    "months_back",
    "persona",
]

REFERENCE_DATE = date(2025, 6, 30)
"""The simulated "today": the last full month of data is June 2025."""


class PersonaProfile(StrEnum):
    HEALTHY = "healthy"
    DECLINING = "declining"
    ARREARS = "arrears"
    THIN_FILE = "thin_file"
    SUSPICIOUS = "suspicious"


class Persona(msgspec.Struct, frozen=True, kw_only=True):
    """An SME and the traits the simulators turn into data."""

    profile: PersonaProfile
    uscc: str
    name: str
    legal_representative: str
    industry: str
    size: str  # micro / small / medium (工信部联企业〔2011〕300号)
    months_of_history: int
    monthly_revenue_fen: int  # declared revenue in the first month of history
    monthly_growth: Decimal  # relative revenue change per month
    revenue_noise: Decimal  # relative month-to-month noise
    headcount_start: int
    headcount_end: int
    insured_share: Decimal  # share of staff with social insurance paid
    kwh_per_10k_revenue: Decimal  # electricity intensity of the business
    m3_per_head: Decimal  # monthly water per employee
    tax_grade: str
    unpaid_utility_months: int  # most recent bills left unpaid
    tax_arrears: bool
    procurement_buyers: tuple[str, ...]


PERSONAS: tuple[Persona, ...] = (
    Persona(
        profile=PersonaProfile.HEALTHY,
        uscc="91440300MA5F7K2A72",
        name="深圳市恒信精密制造有限公司",
        legal_representative="陈志强",
        industry="C3484 机械零部件加工",
        size="small",
        months_of_history=24,
        monthly_revenue_fen=80_000_000,
        monthly_growth=Decimal("0.015"),
        revenue_noise=Decimal("0.04"),
        headcount_start=38,
        headcount_end=46,
        insured_share=Decimal("1"),
        kwh_per_10k_revenue=Decimal("150"),
        m3_per_head=Decimal("3.2"),
        tax_grade="A",
        unpaid_utility_months=0,
        tax_arrears=False,
        procurement_buyers=("深圳市南山区教育局", "深圳市水务局", "广东省人民医院", "深圳地铁集团"),
    ),
    Persona(
        profile=PersonaProfile.DECLINING,
        uscc="91330106MA2H3B8C1Y",
        name="杭州锦程服饰有限公司",
        legal_representative="王丽华",
        industry="F5132 服装批发",
        size="small",
        months_of_history=24,
        monthly_revenue_fen=120_000_000,
        monthly_growth=Decimal("-0.03"),
        revenue_noise=Decimal("0.05"),
        headcount_start=60,
        headcount_end=38,
        insured_share=Decimal("0.95"),
        kwh_per_10k_revenue=Decimal("40"),
        m3_per_head=Decimal("2.5"),
        tax_grade="B",
        unpaid_utility_months=1,
        tax_arrears=False,
        procurement_buyers=("杭州市西湖区城管局", "浙江省公安厅"),
    ),
    Persona(
        profile=PersonaProfile.ARREARS,
        uscc="91320594MA1N6Q4D5G",
        name="苏州市佳禾餐饮管理有限公司",
        legal_representative="刘建国",
        industry="H6210 正餐服务",
        size="small",
        months_of_history=24,
        monthly_revenue_fen=50_000_000,
        monthly_growth=Decimal("0"),
        revenue_noise=Decimal("0.20"),
        headcount_start=25,
        headcount_end=22,
        insured_share=Decimal("0.8"),
        kwh_per_10k_revenue=Decimal("90"),
        m3_per_head=Decimal("9"),
        tax_grade="C",
        unpaid_utility_months=4,
        tax_arrears=True,
        procurement_buyers=("苏州工业园区管委会",),
    ),
    Persona(
        profile=PersonaProfile.THIN_FILE,
        uscc="92110105MA01XY7EXP",
        name="北京市朝阳区晨光便利店",
        legal_representative="张小北",
        industry="F5212 便利店零售",
        size="micro",
        months_of_history=4,
        monthly_revenue_fen=6_000_000,
        monthly_growth=Decimal("0.02"),
        revenue_noise=Decimal("0.08"),
        headcount_start=3,
        headcount_end=3,
        insured_share=Decimal("1"),
        kwh_per_10k_revenue=Decimal("200"),
        m3_per_head=Decimal("1.5"),
        tax_grade="M",
        unpaid_utility_months=0,
        tax_arrears=False,
        procurement_buyers=(),
    ),
    Persona(
        profile=PersonaProfile.SUSPICIOUS,
        uscc="91310115MA1K9T3F7T",
        name="上海浦东瑞丰国际贸易有限公司",
        legal_representative="赵明",
        industry="F5191 贸易经纪",
        size="medium",
        months_of_history=18,
        monthly_revenue_fen=300_000_000,
        monthly_growth=Decimal("0.04"),
        revenue_noise=Decimal("0.45"),
        headcount_start=80,
        headcount_end=85,
        insured_share=Decimal("0.06"),  # payroll says 80+ staff, almost none insured
        kwh_per_10k_revenue=Decimal("0.5"),  # near-zero power for a large "trading" turnover
        m3_per_head=Decimal("0.1"),
        tax_grade="B",
        unpaid_utility_months=0,
        tax_arrears=False,
        procurement_buyers=("上海市浦东新区政府采购中心",),
    ),
)


def persona(profile: PersonaProfile) -> Persona:
    return next(p for p in PERSONAS if p.profile is profile)


def months_back(count: int, until: date = REFERENCE_DATE) -> tuple[str, ...]:
    """The ``count`` months ending with ``until``'s month, oldest first, as ``YYYY-MM``."""
    index = until.year * 12 + until.month - 1
    return tuple(f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - count + 1, index + 1))
