"""Unified social credit codes (统一社会信用代码, GB 32100-2015): validation and check digits.

The USCC is the key of the canonical per-enterprise model (JR/T 0269 6.4.2 c), so every
connector rejects a record whose enterprise code is not a well-formed USCC.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["USCC_ALPHABET", "is_valid_uscc", "uscc_check_digit", "with_check_digits"]

# GB 32100-2015: 31 symbols, no I, O, S, V, Z.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {ch: i for i, ch in enumerate(USCC_ALPHABET)}
_BODY = re.compile(r"[0-9A-HJ-NPQRTUWXY]{17}")
# GB 11714-1997 organisation code (positions 9-17 of the USCC).
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def uscc_check_digit(first17: str) -> str:
    """The 18th character for the given first 17 characters."""
    if _BODY.fullmatch(first17) is None:
        raise ValueError("a USCC body is 17 characters from the GB 32100 alphabet")
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, _WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def _org_check_digit(first8: str) -> str:
    total = sum(_ORG_ALPHABET.index(ch) * w for ch, w in zip(first8, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def with_check_digits(prefix8: str, org8: str) -> str:
    """Build a full USCC from the 8-character prefix and the 8-character organisation body."""
    body = prefix8 + org8 + _org_check_digit(org8)
    return body + uscc_check_digit(body)


@lru_cache(maxsize=65_536)  # a file or a sync names the same few enterprises row after row
def is_valid_uscc(code: str) -> bool:
    """True when ``code`` is 18 characters of the GB 32100 alphabet with a correct check digit."""
    if len(code) != 18 or code[17] not in _VALUE or _BODY.fullmatch(code, 0, 17) is None:
        return False
    return uscc_check_digit(code[:17]) == code[17]
