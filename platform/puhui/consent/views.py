"""A consent in plain words for the pages: who, why, which data, how long (zh or en)."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec
from partner_portal.i18n import Locale

from puhui.consent.catalogue import PURPOSE_WORDS, SOURCE_WORDS, item_words
from puhui.consent.models import Consent

__all__ = ["ConsentView", "SourceView", "consent_view"]


class SourceView(msgspec.Struct, frozen=True, kw_only=True):
    source: str
    items: list[str]
    lookback_months: int | None


class ConsentView(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    status: str
    partner: str
    enterprise: str
    purposes: list[str]
    sources: list[SourceView]
    validity_days: int
    uses_per_day: int
    valid_until: datetime | None
    is_marketing: bool
    can_revoke: bool


def consent_view(consent: Consent, *, partner: str, enterprise: str, locale: Locale) -> ConsentView:
    return ConsentView(
        id=consent.id,
        status=consent.status.value,
        partner=partner,
        enterprise=enterprise,
        purposes=[PURPOSE_WORDS[p][locale] for p in consent.purposes],
        sources=[
            SourceView(
                source=SOURCE_WORDS[str(entry["source"])][locale],
                items=[item_words(str(entry["source"]), str(i), locale) for i in entry["items"]],
                lookback_months=entry.get("lookback_months"),
            )
            for entry in consent.data_items
        ],
        validity_days=consent.validity_days,
        uses_per_day=consent.uses_per_day,
        valid_until=consent.valid_until,
        is_marketing="marketing" in consent.purposes,
        can_revoke=consent.status.value in {"authorised", "awaiting_authorisation"},
    )
