"""RFC 9530 Content-Digest creation and verification."""

from __future__ import annotations

import pytest

from puhui.security.digest import (
    DigestMismatch,
    DigestMissing,
    content_digest,
    verify_content_digest,
)

BODY = b'{"hello": "world"}'


def test_digests_match_rfc9530_examples() -> None:
    assert content_digest(BODY) == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    assert content_digest(BODY, ("sha-512",)) == (
        "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
    )


def test_verification_accepts_matching_body_and_reports_strongest() -> None:
    header = content_digest(BODY, ("sha-256", "sha-512"))
    assert verify_content_digest(header, BODY) == "sha-512"
    assert verify_content_digest("md5=:abc=:, " + content_digest(BODY), BODY) == "sha-256"


def test_any_body_change_is_a_mismatch() -> None:
    header = content_digest(BODY, ("sha-256", "sha-512"))
    with pytest.raises(DigestMismatch):
        verify_content_digest(header, BODY + b" ")


@pytest.mark.parametrize(
    "header", [None, "", "md5=:rL0Y20zC+Fzt72VPzMSk2A==:", "sha-256=X48E", "sha-256=:!!:"]
)
def test_missing_unaccepted_or_malformed_digest_is_refused(header: str | None) -> None:
    with pytest.raises(DigestMissing):
        verify_content_digest(header, BODY)


def test_only_accepted_algorithms_count() -> None:
    with pytest.raises(DigestMissing):
        verify_content_digest(content_digest(BODY), BODY, accepted=("sha-512",))
    with pytest.raises(ValueError, match="unsupported"):
        content_digest(BODY, ("md5",))
