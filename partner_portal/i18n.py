"""Chinese and English for every page: message catalogues and locale negotiation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

__all__ = ["LOCALES", "MESSAGES", "Locale", "negotiate_locale", "translate"]

Locale = Literal["zh", "en"]
LOCALES: tuple[Locale, ...] = ("zh", "en")
LOCALE_COOKIE = "puhui_lang"

# Domains add their messages with ``MESSAGES.update({...})`` from their own module.
MESSAGES: dict[str, Mapping[Locale, str]] = {
    "app.name": {"zh": "普惠开放平台", "en": "Puhui Open Platform"},
    "nav.skip": {"zh": "跳到主要内容", "en": "Skip to main content"},
    "nav.language": {"zh": "English", "en": "中文"},
    "nav.sign_out": {"zh": "退出", "en": "Sign out"},
    "footer.bank": {
        "zh": "普惠银行 · 依据 JR/T 0269-2023",
        "en": "Puhui Bank · built to JR/T 0269-2023",
    },
}


def translate(key: str, locale: Locale, **params: Any) -> str:
    entry = MESSAGES.get(key)
    text = entry[locale] if entry else key
    return text.format(**params) if params else text


def negotiate_locale(cookie: str | None, accept_language: str | None) -> Locale:
    if cookie in LOCALES:
        return cookie
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("en"):
            return "en"
        if tag.startswith("zh"):
            return "zh"
    return "zh"
