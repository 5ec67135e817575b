"""Single-use link tokens: the browser gets the random token, the database only its SHA-256."""

from __future__ import annotations

import hashlib
import secrets

__all__ = ["hash_token", "new_token"]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> tuple[str, str]:
    """A URL-safe 256-bit token and the hash to store."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)
