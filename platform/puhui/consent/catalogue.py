"""The data items a consent may name, per source, in plain words for the consent screen.

Item names are the connectors' own (``connectors.*.connector`` specs), plus "bank" for data the
bank already holds; JR/T 0269 6.1: ask only for the minimum necessary, and say it plainly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

__all__ = ["DATA_ITEMS", "PURPOSE_WORDS", "SOURCE_WORDS", "item_words"]

Locale = Literal["zh", "en"]

SOURCE_WORDS: Mapping[str, Mapping[Locale, str]] = {
    "procurement": {"zh": "政府采购平台", "en": "the public procurement platform"},
    "utilities": {"zh": "水电燃气公司", "en": "the utility companies"},
    "tax": {"zh": "税务机关", "en": "the tax authority"},
    "payroll": {"zh": "薪酬社保服务商", "en": "the payroll and social-insurance provider"},
    "bank": {"zh": "本行已有的账户数据", "en": "accounts you hold at the bank"},
}

DATA_ITEMS: Mapping[str, Mapping[str, Mapping[Locale, str]]] = {
    "procurement": {
        "procurement_awards": {"zh": "政府采购中标记录", "en": "public contracts you have won"},
        "purchase_orders": {"zh": "采购订单", "en": "purchase orders placed with you"},
        "payments_received": {"zh": "采购回款记录", "en": "payments you received for them"},
    },
    "utilities": {
        "electricity_usage": {"zh": "每月用电量", "en": "monthly electricity use"},
        "water_usage": {"zh": "每月用水量", "en": "monthly water use"},
        "utility_bills": {"zh": "水电费缴纳记录", "en": "whether utility bills were paid"},
    },
    "tax": {
        "vat_returns": {"zh": "增值税申报表", "en": "VAT returns you filed"},
        "income_tax_returns": {"zh": "企业所得税申报表", "en": "corporate income tax returns"},
        "tax_credit_grade": {"zh": "纳税信用等级", "en": "your tax credit grade"},
        "tax_arrears": {"zh": "欠税记录", "en": "any unpaid tax"},
        "tax_registration": {
            "zh": "税务登记信息（企业名称、法定代表人）",
            "en": "your tax registration (registered name and legal representative)",
        },
    },
    "payroll": {
        "payroll_summary": {
            "zh": "工资发放汇总（含员工人数）",
            "en": "payroll totals, including headcount",
        },
        "social_insurance": {"zh": "社保缴纳记录", "en": "social insurance paid for staff"},
    },
    "bank": {
        "account_balances": {"zh": "账户余额", "en": "account balances"},
        "account_transactions": {"zh": "账户流水", "en": "account transactions"},
        "loan_repayments": {"zh": "贷款还款记录", "en": "loan repayment history"},
    },
}

PURPOSE_WORDS: Mapping[str, Mapping[Locale, str]] = {
    "credit_assessment": {
        "zh": "评估贵企业的贷款申请（授信审批）",
        "en": "to assess your business's loan application",
    },
    "post_loan_monitoring": {
        "zh": "贷款发放后的贷后管理",
        "en": "to monitor the loan after it is paid out",
    },
    "marketing": {
        "zh": "向您推荐金融产品（营销）",
        "en": "to offer you financial products (marketing)",
    },
}


def item_words(source: str, item: str, locale: Locale) -> str:
    return DATA_ITEMS[source][item][locale]
