"""The unified social credit code (统一社会信用代码, GB 32100-2015): format and check digit.

A partner signs up with its organisation's code; a typo is caught here, before any review.
"""

from __future__ import annotations

__all__ = ["USCC_ALPHABET", "uscc_check_character", "valid_uscc"]

# 31 characters: digits and upper-case letters without I, O, S, V, Z.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {ch: i for i, ch in enumerate(USCC_ALPHABET)}


def uscc_check_character(body: str) -> str:
    """The 18th character for a 17-character code body (GB 32100-2015, 4.4)."""
    if len(body) != 17 or any(ch not in _VALUE for ch in body):
        raise ValueError("a code body is 17 characters of the USCC alphabet")
    total = sum(_VALUE[ch] * weight for ch, weight in zip(body, _WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def valid_uscc(code: str) -> bool:
    """True for an 18-character code whose last character is its check character."""
    code = code.strip().upper()
    if len(code) != 18 or any(ch not in _VALUE for ch in code):
        return False
    return uscc_check_character(code[:17]) == code[17]
