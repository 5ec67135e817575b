"""Consent state as enforcement sees it, and receipts that detect any alteration."""

from __future__ import annotations

import base64
import copy
import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from puhui.consent.models import Consent, ConsentEvent, ConsentStatus
from puhui.consent.receipts import issue_receipt, verify_receipt
from puhui.consent.status import ConsentState
from puhui.security.fieldcrypto import FieldKeyring
from puhui.security.keyring import install_keyring


@pytest.fixture(autouse=True)
def _keyring() -> None:
    def key() -> str:
        return base64.b64encode(os.urandom(32)).decode()

    install_keyring(FieldKeyring.from_base64({"1": key()}, 1, key()))


def _consent(status: ConsentStatus, valid_until: datetime | None) -> Consent:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return Consent(
        id=uuid.uuid4(),
        tenant_id=uuid.uuid4(),
        client_id="ph_client",
        enterprise_uscc="91440300MA5F7K2A72",
        customer_user_id=uuid.uuid4(),
        status=status,
        purposes=["credit_assessment"],
        data_items=[{"source": "tax", "items": ["vat_returns"], "lookback_months": 24}],
        validity_days=90,
        uses_per_day=1,
        authorise_by=now,
        granted_at=now,
        valid_until=valid_until,
        version=3,
    )


_NOW = datetime(2026, 3, 1, tzinfo=UTC)


# No deadline: the first example configures the ORM mappers, which is slow on a busy machine.
@settings(deadline=None)
@given(st.integers(min_value=-(10**6), max_value=10**6), st.sampled_from(list(ConsentStatus)))
def test_only_an_authorised_consent_within_validity_is_active(
    offset_seconds: int, status: ConsentStatus
) -> None:
    until = _NOW + timedelta(seconds=offset_seconds)
    state = ConsentState.of(_consent(status, until))
    expected = status is ConsentStatus.AUTHORISED and offset_seconds > 0
    assert state.is_active(_NOW) is expected
    assert state.version == 3


def test_a_consent_without_validity_is_never_active() -> None:
    assert not ConsentState.of(_consent(ConsentStatus.AUTHORISED, None)).is_active(_NOW)


def _receipt() -> object:
    consent = _consent(ConsentStatus.AUTHORISED, _NOW + timedelta(days=90))
    return issue_receipt(
        consent,
        ConsentEvent.GRANTED,
        issuer="https://bank.example",
        bank_name="Bank",
        partner_name="Partner",
        enterprise_name="SME",
    )


def test_a_receipt_names_parties_purposes_items_validity_and_how_to_revoke() -> None:
    receipt = _receipt()
    doc = receipt.document  # type: ignore[attr-defined]
    assert doc["consentReceiptID"] == str(receipt.id)  # type: ignore[attr-defined]
    assert [c["piiController"] for c in doc["piiControllers"]] == ["Bank", "Partner"]
    assert doc["services"][0]["purposes"][0]["piiCategory"][0]["items"] == ["vat_returns"]
    assert doc["validUntil"].startswith("2026-05-30")
    assert doc["howToRevoke"]["url"] == "https://bank.example/consent-centre"
    assert verify_receipt(receipt)  # type: ignore[arg-type]


@settings(deadline=None)
@given(st.text(min_size=1, max_size=20))
def test_any_change_to_a_receipt_is_detected(text: str) -> None:
    receipt = _receipt()
    tampered = copy.deepcopy(receipt.document)  # type: ignore[attr-defined]
    tampered["validUntil"] = text
    receipt.document = tampered  # type: ignore[attr-defined]
    assert not verify_receipt(receipt)  # type: ignore[arg-type]
