"""The notifier seam: the sandbox writes to an inbox table and the log; production needs a real one.

``PUHUI_NOTIFIER`` is ``sandbox`` or ``package.module:factory``; the factory takes the settings and
returns a :class:`Notifier`. A notifier that cannot be loaded stops start-up with a clear message.
"""

from __future__ import annotations

import importlib
import logging
import uuid
from typing import Protocol, runtime_checkable

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.config import Settings
from puhui.notify.models import SandboxMessage
from puhui.security.masking import mask_phone

__all__ = [
    "Notice",
    "Notifier",
    "NotifierNotConfigured",
    "SandboxNotifier",
    "load_notifier",
    "require_notifier",
]

log = logging.getLogger("puhui.notify")


class NotifierNotConfigured(RuntimeError):
    """Production without a real notifier, or a notifier that cannot be loaded."""


class Notice(msgspec.Struct, frozen=True, kw_only=True):
    """A message to one customer, e.g. a one-time sign-in code by SMS."""

    recipient_id: uuid.UUID
    address: str  # phone number (C2): only the notifier sees it in clear
    body: str
    channel: str = "sms"


@runtime_checkable
class Notifier(Protocol):
    async def deliver(self, session: AsyncSession, notice: Notice) -> None:
        """Send the notice; may write to ``session`` (it commits with the caller's change)."""
        ...


class SandboxNotifier:
    """Writes notices to the sandbox inbox and the log. Refuses to exist outside the sandbox."""

    def __init__(self, settings: Settings) -> None:
        if not settings.sandbox:
            raise NotifierNotConfigured(
                "the sandbox notifier is refused when PUHUI_SANDBOX is false; "
                "set PUHUI_NOTIFIER to a real notifier (package.module:factory)"
            )

    async def deliver(self, session: AsyncSession, notice: Notice) -> None:
        masked = mask_phone(notice.address)
        session.add(
            SandboxMessage(
                recipient_id=notice.recipient_id,
                channel=notice.channel,
                address_masked=masked,
                body=notice.body,
            )
        )
        log.info("sandbox notice to %s: %s", masked, notice.body)


_loaded: dict[str, Notifier] = {}


def load_notifier(settings: Settings) -> Notifier:
    """The configured notifier (one instance per configuration), or NotifierNotConfigured."""
    key = f"{settings.notifier}|{settings.sandbox}"
    found = _loaded.get(key)
    if found is not None:
        return found
    if settings.notifier == "sandbox":
        notifier: object = SandboxNotifier(settings)
    else:
        module_name, _, attribute = settings.notifier.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attribute)
            notifier = factory(settings)
        except Exception as exc:
            raise NotifierNotConfigured(
                f"PUHUI_NOTIFIER={settings.notifier!r} could not be loaded: {exc}"
            ) from exc
    if not isinstance(notifier, Notifier):
        raise NotifierNotConfigured(f"PUHUI_NOTIFIER={settings.notifier!r} is not a Notifier")
    _loaded[key] = notifier
    return notifier


def require_notifier(settings: Settings) -> None:
    """Start-up check: production refuses to start without a real, loadable notifier."""
    load_notifier(settings)
