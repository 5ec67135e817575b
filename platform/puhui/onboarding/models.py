"""Onboarding tables: verification and invitation tokens, the sandbox inbox, second factors,
cooperation cases with review comments, production-access requests and page views."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from puhui.db.base import Base, TenantOwned, Versioned
from puhui.security.sealed import Sealed

__all__ = [
    "CaseStatus",
    "CooperationCase",
    "CooperationComment",
    "Invitation",
    "PageView",
    "ProductionAccessRequest",
    "RequestStatus",
    "ReviewDecision",
    "SandboxMessage",
    "SecondFactor",
    "SignInChallenge",
    "VerificationToken",
]


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    return Enum(
        cls, name=name, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e]
    )


class VerificationToken(TenantOwned, Base):
    """An e-mail verification link for a new owner; stored as a SHA-256 hash, single use."""

    __tablename__ = "onboarding_verifications"

    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class SandboxMessage(Base):
    """An e-mail the sandbox 'sent': shown in the sandbox inbox page instead of being delivered.

    Not tenant-owned: the inbox is addressed by recipient, and exists only when PUHUI_SANDBOX is on.
    """

    __tablename__ = "sandbox_messages"

    recipient: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500))


class Invitation(TenantOwned, Base):
    """An invitation to join a tenant with roles; the accept link carries a single-use token."""

    __tablename__ = "onboarding_invitations"

    email: Mapped[str] = mapped_column(String(254))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL")
    )
    expires_at: Mapped[datetime] = mapped_column()
    accepted_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class SecondFactor(TenantOwned, Base):
    """A member's TOTP secret (C3: encrypted at rest); enabled once a first code is confirmed."""

    __tablename__ = "onboarding_second_factors"
    __table_args__ = (UniqueConstraint("member_id"),)

    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    secret_enc: Mapped[str | None] = mapped_column(String(512))
    enabled_at: Mapped[datetime | None] = mapped_column()
    secret = Sealed[str]("secret")


class SignInChallenge(Base):
    """A password accepted, a second factor still owed: the browser holds only the token."""

    __tablename__ = "onboarding_sign_in_challenges"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column()
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None] = mapped_column()


class CaseStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"  # waiting for the bank's risk assessment and compliance review
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"  # both reviews passed; agreement generated, waiting for acceptance
    REJECTED = "rejected"
    ACTIVE = "active"  # agreement accepted: the tenant is active


class ReviewDecision(enum.StrEnum):
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"
    REJECT = "reject"


class CooperationCase(TenantOwned, Versioned, Base):
    """A partner's cooperation application and the bank's two reviews (JR/T 0269 7.3.2 a)."""

    __tablename__ = "cooperation_cases"

    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus, "cooperation_case_status"))
    contact_name: Mapped[str] = mapped_column(String(120))
    contact_email: Mapped[str] = mapped_column(String(254))
    contact_phone_enc: Mapped[str | None] = mapped_column(String(512))
    contact_phone = Sealed[str]("contact_phone")  # C2 personal information, encrypted at rest
    technical_plan: Mapped[str] = mapped_column(Text, default="")
    data_retention_terms: Mapped[str] = mapped_column(Text, default="")
    liability_terms: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime | None] = mapped_column()
    risk_checklist: Mapped[dict[str, bool]] = mapped_column(JSON, default=dict)
    risk_decision: Mapped[ReviewDecision | None] = mapped_column(
        _enum(ReviewDecision, "review_decision")
    )
    risk_reviewer_id: Mapped[uuid.UUID | None] = mapped_column()
    risk_decided_at: Mapped[datetime | None] = mapped_column()
    compliance_checklist: Mapped[dict[str, bool]] = mapped_column(JSON, default=dict)
    compliance_decision: Mapped[ReviewDecision | None] = mapped_column(
        _enum(ReviewDecision, "review_decision")
    )
    compliance_reviewer_id: Mapped[uuid.UUID | None] = mapped_column()
    compliance_decided_at: Mapped[datetime | None] = mapped_column()
    agreement_text: Mapped[str | None] = mapped_column(Text)
    agreement_sha256: Mapped[str | None] = mapped_column(String(64))
    agreement_generated_at: Mapped[datetime | None] = mapped_column()
    accepted_at: Mapped[datetime | None] = mapped_column()
    accepted_by: Mapped[uuid.UUID | None] = mapped_column()


class CooperationComment(TenantOwned, Base):
    """A remark on a case, by the bank (risk, compliance) or the partner; kept with the case."""

    __tablename__ = "cooperation_comments"

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cooperation_cases.id", ondelete="CASCADE"), index=True
    )
    author_member_id: Mapped[uuid.UUID | None] = mapped_column()
    stage: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)


class RequestStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class ProductionAccessRequest(TenantOwned, Versioned, Base):
    """A partner asks to take one sandbox app to production; the bank decides."""

    __tablename__ = "production_access_requests"

    oauth_client_pk: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("oauth_clients.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(64))
    justification: Mapped[str] = mapped_column(Text)
    expected_monthly_calls: Mapped[int] = mapped_column(default=0)
    status: Mapped[RequestStatus] = mapped_column(_enum(RequestStatus, "production_request_status"))
    requested_by: Mapped[uuid.UUID | None] = mapped_column()
    decided_by: Mapped[uuid.UUID | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column()
    decision_reason: Mapped[str | None] = mapped_column(String(500))


class PageView(TenantOwned, Base):
    """One page view of an embedded surface, reported by the beacon (JR/T 0269 3.7 traffic)."""

    __tablename__ = "page_views"
    __table_args__ = (Index("ix_page_views_tenant_id_viewed_at", "tenant_id", "viewed_at"),)

    viewed_at: Mapped[datetime] = mapped_column()
    client_id: Mapped[str] = mapped_column(String(64))
    surface: Mapped[str] = mapped_column(String(64))
    visitor: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
