"""Time-based one-time passwords (RFC 6238) for the optional second sign-in factor."""

from __future__ import annotations

import pyotp

from puhui.clock import utcnow

__all__ = ["new_totp_secret", "provisioning_uri", "totp_at", "verify_totp"]

_ISSUER = "Puhui Open Platform"


def new_totp_secret() -> str:
    """A fresh 160-bit base32 secret (RFC 4226 recommends at least 128 bits)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, account: str) -> str:
    """The otpauth:// URI an authenticator app reads (typed in or scanned)."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=_ISSUER)


def totp_at(secret: str, offset_steps: int = 0) -> str:
    """The code for the current 30-second step (shifted by ``offset_steps``), by the one clock."""
    totp = pyotp.TOTP(secret)
    return totp.at(utcnow(), counter_offset=offset_steps)


def verify_totp(secret: str, code: str) -> bool:
    """Accept the current step and one step either side (clock drift), six digits only."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return False
    return pyotp.TOTP(secret).verify(code, for_time=utcnow(), valid_window=1)
