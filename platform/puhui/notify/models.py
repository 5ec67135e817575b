"""The sandbox inbox: notices the sandbox notifier "sent", shown in the portal (sandbox only)."""

from __future__ import annotations

import uuid

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from puhui.db.base import Base

__all__ = ["SandboxMessage"]


class SandboxMessage(Base):
    """One notice delivered to the sandbox inbox instead of a real SMS gateway."""

    __tablename__ = "sandbox_inbox"

    recipient_id: Mapped[uuid.UUID] = mapped_column(index=True)
    channel: Mapped[str] = mapped_column(String(16))
    address_masked: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
