"""Online contract signing (JR/T 0269 9.4): one-time code, evidence package, bank countersignature.

The customer proves presence with the bank's customer one-time code (``puhui.customers``: keyed
hash, expiry, attempts, lock-out), sent through the pluggable notifier (``puhui.notify``) to the
borrower's phone — the second factor on top of the caller's authenticated session. The customer
confirms the SHA-256 of the exact HTML shown and signs. The evidence — the hashed rendering
named, its PDF rendering's hash, signer, time, IP, device, consent, the code's id — is
countersigned by the bank as a compact JWS (ES256, keyset purpose ``contract-signing``), so any
copy of the document (HTML or the sealed PDF) can later be checked without trusting the database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import jwt
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.clock import utcnow
from puhui.config import Settings
from puhui.customers.models import CustomerStatus, CustomerUser
from puhui.customers.repository import CustomerUserRepository
from puhui.customers.service import CODE_LIFETIME, send_one_time_code, verify_one_time_code
from puhui.db.session import SessionFactory
from puhui.errors import Conflict, NotFound, ProblemError, register_problem
from puhui.notify import Notifier
from puhui.oauth.keys import Keyset, load_or_create
from puhui.security.masking import mask_phone
from puhui.servicing.models import Contract, ContractStatus, Loan
from puhui.servicing.pdf import PDF_MEDIA_TYPE

__all__ = [
    "CODE_TTL",
    "DOCUMENT_MEDIA_TYPE",
    "EVIDENCE_TYPE",
    "KEY_PURPOSE",
    "CodeSent",
    "SignerContext",
    "Verification",
    "check_signable",
    "countersign",
    "issue_code",
    "seal",
    "signing_keyset",
    "verify_code",
    "verify_document",
]

KEY_PURPOSE: Final = "contract-signing"
EVIDENCE_TYPE: Final = "puhui-contract-evidence+jws"
DOCUMENT_MEDIA_TYPE: Final = "text/html; charset=utf-8"
CODE_TTL: Final = CODE_LIFETIME

NO_SIGNER = register_problem(
    "contract-signer-unreachable",
    "No one-time code can be sent",
    409,
    "The borrower named in the contract has no active bank customer account with a phone "
    "number to receive the signing code.",
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


@dataclass(frozen=True, slots=True)
class CodeSent:
    code_id: uuid.UUID
    sent_to: str  # the phone number, masked


def signing_keyset(key_dir: Path) -> Keyset:
    """The bank's contract-signing keyset (created on first use in the key directory)."""
    return load_or_create(key_dir, purpose=KEY_PURPOSE, alg="ES256")


async def _borrower(session: AsyncSession, loan: Loan) -> CustomerUser:
    try:
        user = await CustomerUserRepository(session).get(loan.customer_id)
    except NotFound:
        raise ProblemError(problem=NO_SIGNER) from None
    if user.status is not CustomerStatus.ACTIVE or not user.phone:
        raise ProblemError(problem=NO_SIGNER)
    return user


async def issue_code(
    session: AsyncSession, notifier: Notifier, contract: Contract, loan: Loan
) -> CodeSent:
    """Send the borrower a fresh one-time code; only the newest code can sign this contract."""
    if contract.status is not ContractStatus.SENT:
        raise Conflict(f"A {contract.status} contract is not awaiting signature.")
    user = await _borrower(session, loan)
    row = await send_one_time_code(session, notifier, user)
    contract.signing_code_id = row.id  # an earlier code stops counting for this contract
    return CodeSent(code_id=row.id, sent_to=mask_phone(user.phone or ""))


def check_signable(
    contract: Contract, loan: Loan, signer: SignerContext, confirmed_sha256: str
) -> uuid.UUID:
    """Everything but the code: state, signer and the confirmed hash. Returns the code's id."""
    if contract.status is not ContractStatus.SENT or contract.signing_code_id is None:
        raise Conflict(f"A {contract.status} contract cannot be signed.")
    if signer.customer_id != loan.customer_id:
        raise Conflict("Only the borrower named in the contract can sign it.")
    if not hmac.compare_digest(confirmed_sha256.lower(), contract.document_sha256):
        raise ProblemError("Reload the contract and confirm it again.", problem=DOCUMENT_MISMATCH)
    return contract.signing_code_id


async def verify_code(
    sessions: SessionFactory,
    settings: Settings,
    customer_id: uuid.UUID,
    code_id: uuid.UUID,
    code: str,
) -> None:
    """Check the code in a unit of work of its own, so a wrong guess is counted (attempts,
    lock-out) even though the signature request then fails."""
    refused: ProblemError | None = None
    async with sessions.unit_of_work() as session:
        user = await session.get(CustomerUser, customer_id)
        if user is None:
            raise ProblemError(problem=NO_SIGNER)
        try:
            await verify_one_time_code(session, settings, user, code_id, code)
        except ProblemError as exc:
            refused = exc  # commit the counted attempt, then answer with the problem
    if refused is not None:
        raise refused


def countersign(evidence: dict[str, Any], keyset: Keyset) -> str:
    """The bank's compact JWS over the canonical JSON of ``evidence``."""
    key = keyset.active
    payload = json.dumps(evidence, sort_keys=True, separators=(",", ":")).encode()
    return jwt.api_jws.encode(
        payload, key.private_key, algorithm=key.alg, headers={"kid": key.kid, "typ": EVIDENCE_TYPE}
    )


def seal(
    contract: Contract,
    loan: Loan,
    *,
    signer: SignerContext,
    code_id: uuid.UUID,
    keyset: Keyset,
    pdf: bytes | None,
    pdf_renderer: str | None,
    pdf_unavailable: str | None = None,
) -> dict[str, Any]:
    """Record the evidence and the bank's countersignature: sent → signed.

    The hashed document is the HTML (UTF-8 bytes) the borrower confirmed; the PDF rendering of
    that HTML, when this server can render it faithfully, is sealed beside it with its own hash.
    """
    now = utcnow()
    pdf_sha256 = hashlib.sha256(pdf).hexdigest() if pdf is not None else None
    evidence: dict[str, Any] = {
        "contract_id": str(contract.id),
        "loan_id": str(loan.id),
        "template": contract.template,
        "document_sha256": contract.document_sha256,
        "document": {
            "media_type": DOCUMENT_MEDIA_TYPE,
            "sha256": contract.document_sha256,
            "hashed": "the UTF-8 bytes of the HTML document the borrower confirmed and signed",
        },
        "renditions": (
            [
                {
                    "media_type": PDF_MEDIA_TYPE,
                    "sha256": pdf_sha256,
                    "renderer": pdf_renderer,
                    "rendering_of": contract.document_sha256,
                }
            ]
            if pdf_sha256 is not None
            else []
        ),
        "signer": {"customer_id": str(signer.customer_id), "enterprise_uscc": loan.enterprise_uscc},
        "signed_at": now.isoformat(),
        "ip": signer.ip,
        "device": signer.device[:200],
        "consent_id": str(signer.consent_id) if signer.consent_id else None,
        "authentication": {
            "method": "customer_one_time_code",
            "channel": "sms",
            "code_id": str(code_id),
        },
    }
    if pdf is None and pdf_unavailable:
        evidence["pdf_unavailable"] = pdf_unavailable[:300]
    contract.evidence = evidence
    contract.evidence_jws = countersign(evidence, keyset)
    contract.status = ContractStatus.SIGNED
    contract.signed_at = now
    contract.pdf = pdf
    contract.pdf_sha256 = pdf_sha256
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
    raw = document.encode("utf-8") if isinstance(document, str) else document
    digest = hashlib.sha256(raw).hexdigest()
    if hmac.compare_digest(digest, str(evidence.get("document_sha256", ""))):
        return Verification(True, "the document is the one signed", evidence)
    renditions = evidence.get("renditions")
    for rendition in renditions if isinstance(renditions, list) else []:
        if isinstance(rendition, dict) and hmac.compare_digest(
            digest, str(rendition.get("sha256", ""))
        ):
            return Verification(
                True,
                f"the document is the {rendition.get('media_type')} sealed at signing",
                evidence,
            )
    return Verification(False, "the document differs from the one signed", evidence)
