"""A logging filter that keeps C3 values and C2 identifiers out of logs (JR/T 0171-2020 7.4)."""

from __future__ import annotations

import logging
import re
from typing import Any, Final

from puhui.security.masking import REDACTED, mask_bank_account, mask_id_number, mask_phone

__all__ = ["SECRET_KEYS", "RedactingFilter", "luhn_valid", "redact_text", "resident_id_valid"]

SECRET_KEYS: Final = frozenset(
    {
        "password", "passwd", "pwd", "secret", "client_secret", "token", "access_token",
        "refresh_token", "id_token", "otp", "sms_code", "verification_code", "pin", "cvv",
        "api_key", "apikey", "private_key", "authorization", "cookie", "set-cookie",
    }
)  # fmt: skip

_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK: Final = "10X98765432"


def resident_id_valid(value: str) -> bool:
    """GB 11643-1999 check digit of an 18-character resident identity number."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17].upper()


def luhn_valid(digits: str) -> bool:
    """ISO/IEC 7812 Luhn check, as used by UnionPay card numbers."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_KEY_ALTERNATION: Final = "|".join(
    re.escape(key) for key in sorted(SECRET_KEYS, key=len, reverse=True)
)
_SECRET_PAIR: Final = re.compile(
    r"(?i)(?P<key>\b(?:" + _KEY_ALTERNATION + r")\b[\"']?\s*[:=]\s*)"
    r"(?:\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^\s\"'&,;}]+)"  # quoted values are redacted whole
)
_BEARER: Final = re.compile(r"(?i)\b(bearer|basic|dpop)\s+[A-Za-z0-9\-._~+/]+=*")
_JWT: Final = re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_ID_NUMBER: Final = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_CARD: Final = re.compile(r"(?<!\d)(?:\d{13,19}|\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,3})?)(?!\d)")
_MOBILE: Final = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)")


def _id_sub(m: re.Match[str]) -> str:
    value = m.group()
    return mask_id_number(value) if resident_id_valid(value) else value


def _card_sub(m: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", m.group())
    if 13 <= len(digits) <= 19 and luhn_valid(digits):
        return mask_bank_account(digits)
    return m.group()


def redact_text(text: str) -> str:
    """Redact secrets and mask identifiers found in free text."""
    if not text:
        return text
    # credentials first: `Authorization: Bearer x` must lose `x`, not just the word `Bearer`
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _JWT.sub(REDACTED, text)
    text = _SECRET_PAIR.sub(lambda m: m.group("key") + REDACTED, text)
    if any(ch.isdigit() for ch in text):
        text = _ID_NUMBER.sub(_id_sub, text)
        text = _CARD.sub(_card_sub, text)
        text = _MOBILE.sub(lambda m: mask_phone(m.group()), text)
    return text


def _redact_value(value: Any, depth: int = 0) -> Any:
    if depth > 8:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {
            k: REDACTED if str(k).lower() in SECRET_KEYS else _redact_value(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_redact_value(v, depth + 1) for v in value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):  # a phone or card number logged as an integer
        text = str(value)
        redacted = redact_text(text)
        return value if redacted == text else redacted
    return redact_text(repr(value))


_STANDARD_ATTRS: Final = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


class RedactingFilter(logging.Filter):
    """Rewrites each record in place: message, args, exception text and `extra` fields.

    Attach it to handlers (not loggers) so records from every logger pass through it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key in _STANDARD_ATTRS:
                continue
            record.__dict__[key] = REDACTED if key.lower() in SECRET_KEYS else _redact_value(value)
        return True
