"""RFC 7591 software statements signed by the bank."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from puhui.clock import FrozenClock
from puhui.oauth.jwt_tokens import AccessTokenIssuer
from puhui.oauth.keys import Keyset
from puhui.oauth.software_statement import (
    InvalidSoftwareStatement,
    SoftwareStatement,
    issue_software_statement,
    verify_software_statement,
)

ISSUER = "https://open.puhui-bank.example"
STATEMENT = SoftwareStatement(
    software_id="sw-procurement-app",
    tenant_id="tenant-7",
    client_name="Procurement Pay",
    redirect_uris=("https://app.partner.example/cb",),
    scope=frozenset({"offers:read"}),
    jwks_uri="https://app.partner.example/jwks.json",
)


def test_statement_round_trips_and_overrides_the_request(
    keyset: Keyset, frozen_clock: FrozenClock
) -> None:
    token = issue_software_statement(keyset, STATEMENT, issuer=ISSUER)
    assert jwt.get_unverified_header(token)["kid"] == keyset.active.kid
    verified = verify_software_statement(token, keyset, issuer=ISSUER)
    assert verified == STATEMENT
    merged = verified.override({"client_name": "Something Else", "logo_uri": "https://x/l.png"})
    assert merged["client_name"] == "Procurement Pay"
    assert merged["logo_uri"] == "https://x/l.png"
    assert merged["token_endpoint_auth_method"] == "private_key_jwt"


def test_expired_statement_is_refused(keyset: Keyset, frozen_clock: FrozenClock) -> None:
    token = issue_software_statement(keyset, STATEMENT, issuer=ISSUER, lifetime=timedelta(days=1))
    frozen_clock.advance(timedelta(days=1))
    with pytest.raises(InvalidSoftwareStatement, match="expired"):
        verify_software_statement(token, keyset, issuer=ISSUER)


def test_statement_not_signed_by_the_bank_is_refused(
    keyset: Keyset, frozen_clock: FrozenClock
) -> None:
    claims = jwt.decode(
        issue_software_statement(keyset, STATEMENT, issuer=ISSUER),
        options={"verify_signature": False},
    )
    forged = jwt.encode(
        {**claims, "scope": "offers:read loans:admin"},
        ec.generate_private_key(ec.SECP256R1()),
        "ES256",
        headers={"kid": keyset.active.kid, "typ": "software-statement+jwt"},
    )
    with pytest.raises(InvalidSoftwareStatement, match="signature") as caught:
        verify_software_statement(forged, keyset, issuer=ISSUER)
    assert caught.value.error == "invalid_software_statement"


def test_statement_from_another_issuer_is_unapproved(
    keyset: Keyset, frozen_clock: FrozenClock
) -> None:
    token = issue_software_statement(keyset, STATEMENT, issuer="https://other-bank.example")
    with pytest.raises(InvalidSoftwareStatement) as caught:
        verify_software_statement(token, keyset, issuer=ISSUER)
    assert caught.value.error == "unapproved_software_statement"


def test_access_token_cannot_pass_as_a_statement(keyset: Keyset, frozen_clock: FrozenClock) -> None:
    token = (
        AccessTokenIssuer(keyset, issuer=ISSUER)
        .issue(subject="s", client_id="c", audience="a", scope=(), tenant_id="t")
        .token
    )
    with pytest.raises(InvalidSoftwareStatement, match="typ"):
        verify_software_statement(token, keyset, issuer=ISSUER)
