"""The cooperation agreement: generated from the approved case, fixed by its SHA-256 hash.

JR/T 0269 7.3.2 a: the bank and the partner agree in writing on the technical plan, data
retention and each side's liability before production cooperation starts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

__all__ = ["AgreementParties", "agreement_sha256", "render_agreement"]


@dataclass(frozen=True)
class AgreementParties:
    bank_name: str
    partner_name: str
    partner_uscc: str
    scenario_type: str


def render_agreement(
    parties: AgreementParties,
    *,
    technical_plan: str,
    data_retention_terms: str,
    liability_terms: str,
    risk_checklist: dict[str, bool],
    compliance_checklist: dict[str, bool],
    generated_at: datetime,
) -> str:
    """Plain text, bilingual headings, deterministic for the same inputs."""

    def checklist(items: dict[str, bool]) -> str:
        return "\n".join(f"  [{'x' if ok else ' '}] {name}" for name, ok in sorted(items.items()))

    return "\n".join(
        [
            "普惠开放平台合作协议 / Puhui Open Platform Cooperation Agreement",
            "",
            f"甲方 Bank: {parties.bank_name}",
            f"乙方 Partner: {parties.partner_name} (统一社会信用代码 USCC {parties.partner_uscc})",
            f"场景 Scenario: {parties.scenario_type}",
            f"生成时间 Generated at (UTC): {generated_at.isoformat(timespec='seconds')}",
            "",
            "一、技术方案 / 1. Technical plan",
            technical_plan.strip(),
            "",
            "二、数据留存 / 2. Data retention",
            data_retention_terms.strip(),
            "",
            "三、责任划分 / 3. Liability",
            liability_terms.strip(),
            "",
            "四、银行风险评估 / 4. Bank risk assessment",
            checklist(risk_checklist),
            "",
            "五、合规审查 / 5. Compliance review",
            checklist(compliance_checklist),
            "",
            "六、依据 / 6. Basis: JR/T 0269-2023 7.3.2 a; JR/T 0171-2020; JR/T 0185-2020.",
            "",
        ]
    )


def agreement_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
