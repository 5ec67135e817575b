"""Online contract signing (JR/T 0269 9.4): one-time code, evidence package, bank countersignature.

The customer proves presence with a one-time code (the second factor on top of the caller's
authenticated session), confirms the SHA-256 of the exact document shown, and signs. The
evidence — document hash, signer, time, IP, device, consent — is countersigned by the bank as
a compact JWS (ES256, keyset purpose ``contract-signing``), so any copy of the document can
later be checked against it without trusting the database.
"""

from __future__ import annotations

import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.clock import utcnow
from puhui.errors import Conflict, ProblemError, register_problem
from puhui.oauth.keys import Keyset, load_or_create
from puhui.servicing.contracts import document_hash
from puhui.servicing.models import Contract, ContractStatus, Loan, SigningCode
from puhui.servicing.repository import ContractRepository

__all__ = [
    "CODE_ATTEMPTS",
    "CODE_TTL",
    "EVIDENCE_TYPE",
    "KEY_PURPOSE",
    "SignerContext",
    "Verification",
    "countersign",
    "issue_code",
    "sign",
    "signing_keyset",
    "verify_document",
]

KEY_PURPOSE: Final = "contract-signing"
# Six digits are few: the hash is argon2 (slow offline) and online guesses are capped per code.
_CODE_HASHER: Final = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
EVIDENCE_TYPE: Final = "puhui-contract-evidence+jws"
CODE_TTL: Final = timedelta(minutes=5)
CODE_ATTEMPTS: Final = 5

CODE_REJECTED = register_problem(
    "signing-code-rejected",
    "Signing code rejected",
    403,
    "The one-time code is wrong, expired or used up; request a new one.",
)
DOCUMENT_MISMATCH = register_problem(
    "contract-document-mismatch",
    "Not the document on file",
    409,
    "The document hash you confirmed is not the hash of the contract on file.",
)


@dataclass(frozen=True, slots=True)
class SignerContext:
    """Who signs, from where: the customer and the device and address the request came from."""

    customer_id: uuid.UUID
    ip: str
    device: str
    consent_id: uuid.UUID | None


def signing_keyset(key_dir: Path) -> Keyset:
    """The bank's contract-signing keyset (created on first use in the key directory)."""
    return load_or_create(key_dir, purpose=KEY_PURPOSE, alg="ES256")


async def issue_code(session: AsyncSession, contract: Contract, at: datetime | None = None) -> str:
    """A fresh six-digit code for ``contract``; earlier unused codes stop working."""
    if contract.status is not ContractStatus.SENT:
        raise Conflict(f"A {contract.status} contract is not awaiting signature.")
    now = at or utcnow()
    for old in await ContractRepository(session).open_codes(contract.id):
        old.consumed_at = now
    code = f"{secrets.randbelow(1_000_000):06d}"
    session.add(
        SigningCode(
            tenant_id=contract.tenant_id,
            contract_id=contract.id,
            code_hash=_CODE_HASHER.hash(code),  # C3: only the argon2 hash is kept
            expires_at=now + CODE_TTL,
        )
    )
    return code


async def _consume_code(
    session: AsyncSession, contract: Contract, code: str, now: datetime
) -> uuid.UUID:
    codes = await ContractRepository(session).open_codes(contract.id)
    live = next((c for c in codes if c.expires_at > now and c.attempts < CODE_ATTEMPTS), None)
    if live is None:
        raise ProblemError("No valid one-time code; request a new one.", problem=CODE_REJECTED)
    live.attempts += 1
    matched: bool
    try:
        matched = _CODE_HASHER.verify(live.code_hash, code)
    except (VerificationError, InvalidHashError):
        matched = False
    if not matched:
        if live.attempts >= CODE_ATTEMPTS:
            live.consumed_at = now
        await session.flush()
        raise ProblemError("The one-time code is wrong.", problem=CODE_REJECTED)
    live.consumed_at = now
    return live.id


def countersign(evidence: dict[str, Any], keyset: Keyset) -> str:
    """The bank's compact JWS over the canonical JSON of ``evidence``."""
    key = keyset.active
    payload = json.dumps(evidence, sort_keys=True, separators=(",", ":")).encode()
    return jwt.api_jws.encode(
        payload, key.private_key, algorithm=key.alg, headers={"kid": key.kid, "typ": EVIDENCE_TYPE}
    )


async def sign(
    session: AsyncSession,
    contract: Contract,
    loan: Loan,
    *,
    code: str,
    confirmed_sha256: str,
    signer: SignerContext,
    keyset: Keyset,
) -> dict[str, Any]:
    """Verify the code and the confirmed hash, then seal the evidence: sent → signed."""
    if contract.status is not ContractStatus.SENT:
        raise Conflict(f"A {contract.status} contract cannot be signed.")
    if signer.customer_id != loan.customer_id:
        raise Conflict("Only the borrower named in the contract can sign it.")
    now = utcnow()
    code_id = await _consume_code(session, contract, code, now)
    if not hmac.compare_digest(confirmed_sha256.lower(), contract.document_sha256):
        raise ProblemError("Reload the contract and confirm it again.", problem=DOCUMENT_MISMATCH)
    evidence: dict[str, Any] = {
        "contract_id": str(contract.id),
        "loan_id": str(loan.id),
        "template": contract.template,
        "document_sha256": contract.document_sha256,
        "signer": {"customer_id": str(signer.customer_id), "enterprise_uscc": loan.enterprise_uscc},
        "signed_at": now.isoformat(),
        "ip": signer.ip,
        "device": signer.device[:200],
        "consent_id": str(signer.consent_id) if signer.consent_id else None,
        "authentication": {"method": "otp", "code_id": str(code_id)},
    }
    contract.evidence = evidence
    contract.evidence_jws = countersign(evidence, keyset)
    contract.status = ContractStatus.SIGNED
    contract.signed_at = now
    return evidence


@dataclass(frozen=True, slots=True)
class Verification:
    """Whether a document matches a countersigned evidence package, and why not."""

    valid: bool
    reason: str
    evidence: dict[str, Any] | None


def verify_document(document: str | bytes, evidence_jws: str, keyset: Keyset) -> Verification:
    """Check the bank's signature over the evidence, then the document's hash against it."""
    try:
        header = jwt.get_unverified_header(evidence_jws)
    except jwt.PyJWTError:
        return Verification(False, "the evidence is not a JWS", None)
    key = next((k for k in keyset.keys if k.kid == header.get("kid")), None)
    if key is None or header.get("typ") != EVIDENCE_TYPE:
        return Verification(False, "the evidence was not signed by a bank contract key", None)
    try:
        payload = jwt.api_jws.decode(evidence_jws, key.public_key, algorithms=[key.alg])
        evidence = json.loads(payload)
    except (jwt.PyJWTError, ValueError):
        return Verification(False, "the bank's signature over the evidence does not verify", None)
    if not isinstance(evidence, dict):
        return Verification(False, "the evidence is malformed", None)
    text = document.decode("utf-8", "replace") if isinstance(document, bytes) else document
    if not hmac.compare_digest(document_hash(text), str(evidence.get("document_sha256", ""))):
        return Verification(False, "the document differs from the one signed", evidence)
    return Verification(True, "the document is the one signed", evidence)
