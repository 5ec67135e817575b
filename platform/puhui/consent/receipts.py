"""Consent receipts after the Kantara Initiative Consent Receipt v1.1 fields, hashed and signed.

The document is canonical JSON (sorted keys, no spaces); ``digest`` is its SHA-256 and
``signature`` an HMAC-SHA256 of the digest under the bank's data key, so the bank can prove a
receipt it issued was not altered.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

from puhui.clock import utcnow
from puhui.consent.models import Consent, ConsentEvent, ConsentReceipt
from puhui.security.keyring import keyring

__all__ = ["RECEIPT_VERSION", "canonical", "issue_receipt", "verify_receipt"]

RECEIPT_VERSION = "KI-CR-v1.1.0"


def canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _sign(digest: str) -> str:
    return keyring().blind_index(digest, "consent-receipt")


def issue_receipt(
    consent: Consent,
    event: ConsentEvent,
    *,
    issuer: str,
    bank_name: str,
    partner_name: str,
    enterprise_name: str | None,
) -> ConsentReceipt:
    """A new receipt row for ``consent`` as it stands now (the caller adds it to the session)."""
    receipt_id = uuid.uuid4()
    issued_at = utcnow()
    document: dict[str, Any] = {
        "version": RECEIPT_VERSION,
        "jurisdiction": "CN",
        "consentReceiptID": str(receipt_id),
        "consentID": str(consent.id),
        "event": event.value,
        "consentTimestamp": int(issued_at.timestamp()),
        "issuedAt": issued_at.isoformat(),
        "collectionMethod": "bank-hosted consent screen after customer sign-in",
        "language": "zh-CN",
        "piiPrincipalId": str(consent.customer_user_id) if consent.customer_user_id else None,
        "enterprise": {"uscc": consent.enterprise_uscc, "name": enterprise_name},
        "piiControllers": [
            {"piiController": bank_name, "role": "controller", "url": issuer},
            {
                "piiController": partner_name,
                "role": "recipient",
                "tenantId": str(consent.tenant_id),
                "clientId": consent.client_id,
            },
        ],
        "policyUrl": f"{issuer}/consent-centre",
        "services": [
            {
                "service": purpose,
                "purposes": [
                    {
                        "purpose": purpose,
                        "consentType": "EXPLICIT",
                        "purposeCategory": [purpose],
                        "piiCategory": consent.data_items,
                        "primaryPurpose": purpose != "marketing",
                        "termination": (
                            consent.valid_until.isoformat() if consent.valid_until else None
                        ),
                        "thirdPartyDisclosure": True,
                        "thirdPartyName": partner_name,
                    }
                ],
            }
            for purpose in consent.purposes
        ],
        "status": consent.status.value,
        "validFrom": consent.granted_at.isoformat() if consent.granted_at else None,
        "validUntil": consent.valid_until.isoformat() if consent.valid_until else None,
        "usesPerDay": consent.uses_per_day,
        "sensitive": False,
        "howToRevoke": {
            "url": f"{issuer}/consent-centre",
            "zh": "登录本行“授权管理”页面，选择该授权并点击“撤回”，立即生效。",
            "en": "Sign in to the bank's consent centre, pick this consent and press Revoke; "
            "it takes effect at once.",
        },
    }
    digest = hashlib.sha256(canonical(document)).hexdigest()
    return ConsentReceipt(
        id=receipt_id,
        tenant_id=consent.tenant_id,
        consent_id=consent.id,
        event=event,
        issued_at=issued_at,
        document=document,
        digest=digest,
        signature=_sign(digest),
    )


def verify_receipt(receipt: ConsentReceipt) -> bool:
    """True when the stored document still hashes to the digest the bank signed."""
    digest = hashlib.sha256(canonical(receipt.document)).hexdigest()
    return hmac.compare_digest(digest, receipt.digest) and hmac.compare_digest(
        _sign(digest), receipt.signature
    )
