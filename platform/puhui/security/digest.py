"""RFC 9530 `Content-Digest`: body integrity that an RFC 9421 signature then covers (A2 APIs)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection, Sequence
from typing import Final

from puhui.security.httpsig import (
    Item,
    StructuredFieldError,
    parse_dictionary,
    serialize_dictionary,
)

__all__ = [
    "DIGEST_ALGORITHMS",
    "DigestMismatch",
    "DigestMissing",
    "content_digest",
    "verify_content_digest",
]

# RFC 9530 18.5 registry entries marked "Active"; md5/sha/crc32c etc. are deprecated and refused.
DIGEST_ALGORITHMS: Final = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}


class DigestMissing(ValueError):
    """No acceptable digest algorithm is present in the header (or it is malformed)."""


class DigestMismatch(ValueError):
    """A digest in the header does not match the body."""


def content_digest(body: bytes, algorithms: Sequence[str] = ("sha-256",)) -> str:
    """The `Content-Digest` header value for `body`, e.g. `sha-256=:X48E...=:`."""
    members = {}
    for name in algorithms:
        digest = DIGEST_ALGORITHMS.get(name)
        if digest is None:
            raise ValueError(f"unsupported digest algorithm {name!r}")
        members[name] = Item(digest(body).digest())
    return serialize_dictionary(members)


def verify_content_digest(
    header: str | None,
    body: bytes,
    *,
    accepted: Collection[str] = ("sha-256", "sha-512"),
) -> str:
    """Check every accepted digest present in `header` against `body`; return the strongest checked.

    Unknown algorithms are ignored (RFC 9530 2), but at least one accepted one must be present.
    """
    if not header:
        raise DigestMissing("no Content-Digest header")
    try:
        members = parse_dictionary(header)
    except StructuredFieldError as exc:
        raise DigestMissing("malformed Content-Digest header") from exc
    checked: list[str] = []
    for name, member in members.items():
        if name not in accepted or name not in DIGEST_ALGORITHMS:
            continue
        if not isinstance(member, Item) or not isinstance(member.value, bytes):
            raise DigestMissing("Content-Digest member is not a byte sequence")
        if not hmac.compare_digest(DIGEST_ALGORITHMS[name](body).digest(), member.value):
            raise DigestMismatch(f"{name} digest does not match the body")
        checked.append(name)
    if not checked:
        raise DigestMissing("no accepted digest algorithm in Content-Digest")
    return "sha-512" if "sha-512" in checked else checked[0]
