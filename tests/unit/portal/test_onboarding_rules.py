"""Pure onboarding rules: the USCC check character, the agreement hash, TOTP, uploaded keys,
SVG charts, and that every message the portal templates use exists in both languages."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import partner_portal.messages  # noqa: F401 - registers the portal messages
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from hypothesis import given
from hypothesis import strategies as st
from partner_portal.charts import bar_chart
from partner_portal.csp import form_action_policy, page_security_headers
from partner_portal.i18n import MESSAGES
from partner_portal.keys import jwks_from_upload

from puhui.clock import FrozenClock, set_clock
from puhui.errors import InvalidRequest
from puhui.oauth.models import ClientStatus
from puhui.onboarding.agreement import AgreementParties, agreement_sha256, render_agreement
from puhui.onboarding.totp import new_totp_secret, totp_at, verify_totp
from puhui.onboarding.uscc import USCC_ALPHABET, uscc_check_character, valid_uscc
from puhui.risk.models import ReviewStatus
from puhui.security.models import AlertKind, AlertStatus

bodies = st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17)


@given(bodies)
def test_a_code_with_its_check_character_is_valid(body: str) -> None:
    assert valid_uscc(body + uscc_check_character(body))


@given(bodies, st.integers(0, 16), st.sampled_from(USCC_ALPHABET))
def test_any_single_character_typo_is_caught(body: str, position: int, replacement: str) -> None:
    code = body + uscc_check_character(body)
    typo = code[:position] + replacement + code[position + 1 :]
    assert valid_uscc(typo) == (typo == code)


def test_known_codes_and_malformed_input() -> None:
    assert valid_uscc("91350100M000100Y43")
    assert valid_uscc(" 91350100m000100y43 ")  # trimmed, case-insensitive
    assert not valid_uscc("91350100M000100Y44")
    assert not valid_uscc("91350100M000100Y4")
    assert not valid_uscc("91350100I000100Y43")  # I is not in the alphabet
    with pytest.raises(ValueError, match="17 characters"):
        uscc_check_character("123")


def test_the_agreement_is_deterministic_and_its_hash_changes_with_any_term() -> None:
    parties = AgreementParties("Bank", "Partner", "91350100M000100Y43", "tax")
    at = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    kwargs = {
        "technical_plan": "plan",
        "data_retention_terms": "retention",
        "liability_terms": "liability",
        "risk_checklist": {"a": True},
        "compliance_checklist": {"b": True},
        "generated_at": at,
    }
    text = render_agreement(parties, **kwargs)  # type: ignore[arg-type]
    assert agreement_sha256(text) == agreement_sha256(render_agreement(parties, **kwargs))  # type: ignore[arg-type]
    changed = render_agreement(parties, **{**kwargs, "liability_terms": "other"})  # type: ignore[arg-type]
    assert agreement_sha256(changed) != agreement_sha256(text)
    assert "[x] a" in text
    assert "91350100M000100Y43" in text


def test_totp_accepts_the_current_and_adjacent_steps_only() -> None:
    clock = FrozenClock(datetime(2026, 11, 28, 12, 0, 10, tzinfo=UTC))
    previous = set_clock(clock)
    try:
        secret = new_totp_secret()
        assert verify_totp(secret, totp_at(secret))
        assert verify_totp(secret, totp_at(secret, -1))
        assert not verify_totp(secret, totp_at(secret, -3))
        assert not verify_totp(secret, "12a456")
        code = totp_at(secret)
        clock.advance(timedelta(minutes=5))
        assert not verify_totp(secret, code)
    finally:
        set_clock(previous)


def test_uploaded_keys_become_a_jwks() -> None:
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    jwks = jwks_from_upload(ec_pem)
    assert jwks["keys"][0]["kty"] == "EC"
    assert jwks["keys"][0]["alg"] == "ES256"
    assert "d" not in jwks["keys"][0]
    ed_pem = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    assert jwks_from_upload(ed_pem)["keys"][0]["crv"] == "Ed25519"
    single = jwks_from_upload(json.dumps(jwks["keys"][0]))
    assert single == {"keys": [jwks["keys"][0]]}
    with pytest.raises(InvalidRequest):
        jwks_from_upload("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----")
    with pytest.raises(InvalidRequest):
        jwks_from_upload("hello")


@given(st.lists(st.tuples(st.text(min_size=1, max_size=8), st.integers(0, 10_000)), max_size=30))
def test_charts_are_escaped_svg_with_one_bar_per_point(points: list[tuple[str, int]]) -> None:
    svg = str(bar_chart("Calls <per> day", points))
    assert svg.startswith("<svg")
    assert svg.endswith("</svg>")
    assert svg.count("<rect ") == len(points)
    assert "<per>" not in svg
    heights = [float(h) for h in re.findall(r'height="([0-9.]+)"><title>', svg)]
    assert all(0 <= h <= 180 for h in heights)


def test_every_message_the_portal_templates_use_exists_in_both_languages() -> None:
    root = Path(__file__).resolve().parents[3] / "partner_portal" / "templates"
    mine = ["base.html", "error.html", "landing.html"] + [
        str(p.relative_to(root))
        for folder in ("partials", "account", "portal", "apps", "reference", "insights", "console")
        for p in (root / folder).glob("*.html")
    ]
    used: set[str] = set()
    for name in mine:
        used |= set(re.findall(r"\bt\('([a-z_]+\.[a-z_0-9.]+|yes|no)'", (root / name).read_text()))
    missing = sorted(k for k in used if k not in MESSAGES)
    assert missing == []
    assert all(set(MESSAGES[k]) == {"zh", "en"} for k in used)


@pytest.mark.parametrize(
    ("prefix", "values"),
    [
        ("review_status", [s.value for s in ReviewStatus]),
        ("alert_kind", [k.value for k in AlertKind]),
        ("alert_status", [s.value for s in AlertStatus]),
        ("client_status", [s.value for s in ClientStatus]),
    ],
)
def test_every_status_the_console_shows_has_both_languages(prefix: str, values: list[str]) -> None:
    for value in values:
        entry = MESSAGES.get(f"{prefix}.{value}")
        assert entry is not None, f"{prefix}.{value}"
        assert entry["zh"]
        assert entry["en"]
        assert entry["zh"] != entry["en"]


def test_no_template_has_inline_script_style_or_event_handlers() -> None:
    """The CSP allows scripts and styles from the site only: inline ones would silently break."""
    root = Path(__file__).resolve().parents[3] / "partner_portal" / "templates"
    for template in root.rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template
        assert not re.search(r"<style\b", text), template
        assert not re.search(r"\sstyle\s*=", text), template
        assert not re.search(r"\son[a-z]+\s*=", text), template
        assert "javascript:" not in text, template


def test_a_form_target_widens_only_form_action_and_only_by_an_origin() -> None:
    base = page_security_headers()["content-security-policy"]
    widened = form_action_policy("https://partner.example/callback?x=1", "http://localhost:8080/cb")
    assert "form-action 'self' http://localhost:8080 https://partner.example" in widened
    assert widened.replace(" http://localhost:8080 https://partner.example", "") == base
    for hostile in (
        "https://evil.example/;script-src *",
        "https://a.example 'unsafe-inline'",
        "javascript:alert(1)",
        "data:text/html,x",
        "/relative",
    ):
        assert form_action_policy(hostile) == base, hostile
