"""Chinese and English wording of the consent pages and the consent centre."""

from __future__ import annotations

from collections.abc import Mapping

from partner_portal.i18n import MESSAGES, Locale

__all__ = ["CONSENT_MESSAGES"]

CONSENT_MESSAGES: dict[str, Mapping[Locale, str]] = {
    "consent.login.title": {"zh": "登录普惠银行", "en": "Sign in to Puhui Bank"},
    "consent.login.intro": {
        "zh": "{partner} 请求使用贵企业的数据。请先登录本行，确认是您本人。",
        "en": "{partner} asks to use your business's data. Sign in to the bank first.",
    },
    "consent.centre.intro": {
        "zh": "登录后可查看并撤回您给出的全部数据授权。",
        "en": "Sign in to see, and revoke, every data consent you have given.",
    },
    "consent.phone": {"zh": "手机号", "en": "Mobile number"},
    "consent.password": {"zh": "密码", "en": "Password"},
    "consent.continue": {"zh": "继续", "en": "Continue"},
    "consent.code.title": {"zh": "输入验证码", "en": "Enter your one-time code"},
    "consent.code.intro": {
        "zh": "我们已向 {phone} 发送了 6 位验证码，5 分钟内有效。",
        "en": "We sent a six-digit code to {phone}. It is valid for 5 minutes.",
    },
    "consent.code.label": {"zh": "验证码", "en": "One-time code"},
    "consent.code.resend": {"zh": "重新发送验证码", "en": "Send a new code"},
    "consent.review.title": {"zh": "数据授权确认", "en": "Review this consent"},
    "consent.review.who": {
        "zh": "{partner} 请求贵企业 {enterprise} 授权以下数据：",
        "en": "{partner} asks {enterprise} for consent to use this data:",
    },
    "consent.review.purpose": {"zh": "用途", "en": "Purpose"},
    "consent.review.items": {"zh": "数据项", "en": "Data"},
    "consent.review.lookback": {"zh": "近 {months} 个月", "en": "the last {months} months"},
    "consent.review.validity": {
        "zh": "有效期 {days} 天（至 {until}），每天最多使用 {uses} 次。",
        "en": "Valid for {days} days (until {until}), used at most {uses} times a day.",
    },
    "consent.review.revoke_how": {
        "zh": "您可随时在本行“授权管理”页面（{url}）一键撤回，撤回立即生效。",
        "en": "You can revoke it at any time in one step at the bank's consent centre "
        "({url}); it stops at once.",
    },
    "consent.review.marketing": {
        "zh": "我同意本行和 {partner} 将上述数据用于向我推荐金融产品（营销）。",
        "en": "I agree that the bank and {partner} may use this data to offer me "
        "financial products (marketing).",
    },
    "consent.review.marketing_needed": {
        "zh": "营销用途须您单独勾选同意。",
        "en": "Marketing use needs your own tick in the box.",
    },
    "consent.grant": {"zh": "同意授权", "en": "Give consent"},
    "consent.reject": {"zh": "拒绝", "en": "Refuse"},
    "consent.error.title": {"zh": "无法继续", "en": "This request cannot go on"},
    "consent.error.back": {"zh": "返回合作方", "en": "Back to the partner"},
    "consent.error.session": {
        "zh": "页面已过期，请回到合作方重新发起。",
        "en": "This page has expired; start again from the partner's app.",
    },
    "consent.error.csrf": {
        "zh": "表单已失效，请刷新页面后重试。",
        "en": "The form has expired; reload the page and try again.",
    },
    "consent.error.other_enterprise": {
        "zh": "该授权请求针对的不是您所代表的企业。",
        "en": "This request is for a business you do not sign for.",
    },
    "consent.error.request": {
        "zh": "授权请求无效或已被使用（{error}）。",
        "en": "The authorization request is invalid or was already used ({error}).",
    },
    "centre.title": {"zh": "授权管理", "en": "Consent centre"},
    "centre.empty": {
        "zh": "您还没有给出任何数据授权。",
        "en": "You have not given any consent yet.",
    },
    "centre.partner": {"zh": "合作方", "en": "Partner"},
    "centre.status": {"zh": "状态", "en": "Status"},
    "centre.valid_until": {"zh": "有效至", "en": "Valid until"},
    "centre.receipts": {"zh": "授权凭证", "en": "Receipts"},
    "centre.revoke": {"zh": "撤回授权", "en": "Revoke"},
    "centre.revoked_done": {
        "zh": "授权已撤回，立即生效。",
        "en": "Consent revoked; it stops at once.",
    },
    "centre.sign_out": {"zh": "退出", "en": "Sign out"},
    "status.awaiting_authorisation": {"zh": "待授权", "en": "Awaiting your decision"},
    "status.authorised": {"zh": "已授权", "en": "Authorised"},
    "status.revoked": {"zh": "已撤回", "en": "Revoked"},
    "status.expired": {"zh": "已过期", "en": "Expired"},
    "status.rejected": {"zh": "已拒绝", "en": "Refused"},
    "receipt.title": {"zh": "授权凭证", "en": "Consent receipt"},
    "receipt.id": {"zh": "凭证编号", "en": "Receipt number"},
    "receipt.event": {"zh": "事项", "en": "Event"},
    "receipt.issued": {"zh": "签发时间", "en": "Issued"},
    "receipt.parties": {"zh": "当事方", "en": "Parties"},
    "receipt.digest": {"zh": "摘要（SHA-256）", "en": "Digest (SHA-256)"},
    "receipt.signature": {"zh": "本行签名", "en": "Bank's signature"},
    "receipt.verified": {"zh": "凭证完整，未被篡改。", "en": "The receipt is intact."},
    "receipt.granted": {"zh": "授权", "en": "Consent given"},
    "receipt.amended": {"zh": "变更", "en": "Consent changed"},
    "receipt.revoked": {"zh": "撤回", "en": "Consent revoked"},
    "receipt.expired": {"zh": "到期", "en": "Consent expired"},
    "inbox.title": {"zh": "沙箱收件箱", "en": "Sandbox inbox"},
    "inbox.intro": {
        "zh": "沙箱环境不发送真实短信；发给客户的验证码显示在这里。",
        "en": "The sandbox sends no real SMS; codes sent to customers appear here.",
    },
}

MESSAGES.update(CONSENT_MESSAGES)

MESSAGES.update(
    {
        "problem.authentication-required": {
            "zh": "手机号或密码不正确。",
            "en": "The mobile number or password is wrong.",
        },
        "problem.account-locked": {
            "zh": "失败次数过多，账户已暂时锁定，请稍后再试。",
            "en": "Too many failed attempts; the account is locked for a while.",
        },
        "problem.one-time-code-wrong": {"zh": "验证码不正确。", "en": "That code is wrong."},
        "problem.one-time-code-expired": {
            "zh": "验证码已失效，请重新获取。",
            "en": "That code is no longer valid; ask for a new one.",
        },
        "problem.too-many-codes": {
            "zh": "发送验证码次数过多，请重新开始。",
            "en": "Too many codes were sent; please start again.",
        },
    }
)
