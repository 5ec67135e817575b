"""Identity consistency at application (JR/T 0269 9.6): names as the stored sources report them.

The authority is the enterprise's tax registration: the taxpayer name and legal representative
that the tax connector stores. Procurement and payroll records that name the enterprise are
compared with it too. Each comparison becomes an admission fact, so the rule set in force decides
the reason code and the action (``FRD-006`` … ``FRD-008`` in the baseline).

Records are read from the scenario store through its public model and decoder
(:func:`puhui.scenario.store.record_data`); only streams whose record type carries one of the
name fields below are read at all, so enterprises with long tax histories cost nothing extra.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Final

import msgspec
from connectors.catalog import StreamSpec
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.errors import ProblemError
from puhui.risk.fraud import normalise_enterprise_name, normalise_person_name
from puhui.risk.repository import ScenarioRecordReader
from puhui.scenario.hosted import hosted_connector
from puhui.scenario.store import record_data

__all__ = [
    "AUTHORITY_SOURCE",
    "ENTERPRISE_NAME_FIELDS",
    "IDENTITY_SOURCES",
    "LEGAL_REP_FIELDS",
    "IdentityEvidence",
    "IdentityFacts",
    "StreamLookup",
    "hosted_streams",
    "identity_facts",
    "stored_identity",
]

AUTHORITY_SOURCE: Final = "tax"
IDENTITY_SOURCES: Final = ("tax", "procurement", "payroll")
# Record fields that name the enterprise or its legal representative, by connector convention.
ENTERPRISE_NAME_FIELDS: Final = (
    "taxpayer_name",
    "registered_name",
    "enterprise_name",
    "supplier_name",
    "employer_name",
)
LEGAL_REP_FIELDS: Final = ("legal_representative", "legal_rep_name")


class IdentityEvidence(msgspec.Struct, frozen=True, kw_only=True):
    """Names of the enterprise and its representative as other sources report them (9.6)."""

    tax_registered_name: str | None = None
    enterprise_names: dict[str, str] = msgspec.field(default_factory=dict)  # source → name
    legal_rep_name: str | None = None  # as registered with the tax authority
    phone_owner_name: str | None = None

    def merged(self, other: IdentityEvidence) -> IdentityEvidence:
        """These values, with `other` filling what is missing (a caller's evidence wins)."""
        return IdentityEvidence(
            tax_registered_name=self.tax_registered_name or other.tax_registered_name,
            enterprise_names=other.enterprise_names | self.enterprise_names,
            legal_rep_name=self.legal_rep_name or other.legal_rep_name,
            phone_owner_name=self.phone_owner_name or other.phone_owner_name,
        )


class IdentityFacts(msgspec.Struct, frozen=True, kw_only=True):
    """The three admission facts; None where the registration gives nothing to compare with."""

    enterprise_name_matches_registration: bool | None = None
    legal_rep_matches_registration: bool | None = None
    source_names_match_registration: bool | None = None


def identity_facts(
    evidence: IdentityEvidence, *, enterprise_name: str, legal_rep_name: str
) -> IdentityFacts:
    """Compare the application and the other sources with the tax registration, normalised."""
    registered = evidence.tax_registered_name
    if registered is None:
        return IdentityFacts()
    authority = normalise_enterprise_name(registered)
    others = [n for s, n in evidence.enterprise_names.items() if s != AUTHORITY_SOURCE and n]
    return IdentityFacts(
        enterprise_name_matches_registration=normalise_enterprise_name(enterprise_name)
        == authority,
        legal_rep_matches_registration=None
        if evidence.legal_rep_name is None
        else normalise_person_name(legal_rep_name)
        == normalise_person_name(evidence.legal_rep_name),
        source_names_match_registration=None
        if not others
        else all(normalise_enterprise_name(n) == authority for n in others),
    )


StreamLookup = Callable[[str], Sequence[StreamSpec]]


def hosted_streams(source: str) -> Sequence[StreamSpec]:
    """The streams of the hosted connector called `source`; none when it is not hosted."""
    try:
        return hosted_connector(source).catalog().streams
    except ProblemError:
        return ()


def _naming_streams(
    streams: Iterable[StreamSpec],
) -> dict[str, tuple[StreamSpec, str | None, str | None]]:
    """Streams whose records name the enterprise or its representative, with the field names."""
    found: dict[str, tuple[StreamSpec, str | None, str | None]] = {}
    for stream in streams:
        fields = set(stream.record_type.__struct_fields__)
        name = next((f for f in ENTERPRISE_NAME_FIELDS if f in fields), None)
        rep = next((f for f in LEGAL_REP_FIELDS if f in fields), None)
        if name or rep:
            found[stream.name] = (stream, name, rep)
    return found


def _text(record: msgspec.Struct, field: str | None) -> str | None:
    if field is None:
        return None
    value = getattr(record, field, None)
    return value.strip() or None if isinstance(value, str) else None


async def stored_identity(
    session: AsyncSession, uscc: str, streams: StreamLookup | None = None
) -> IdentityEvidence:
    """The names the stored tax, procurement and payroll records give; the newest record wins.

    ``streams`` maps a source to its connector streams (default: the hosted connectors).
    """
    lookup = streams or hosted_streams
    reader = ScenarioRecordReader(session)
    names: dict[str, str] = {}
    legal_rep: str | None = None
    for source in IDENTITY_SOURCES:
        naming = _naming_streams(lookup(source))
        if not naming:
            continue
        rows = await reader.newest_first(uscc, [f"{source}.{s}" for s in naming])
        for row in rows:
            stream, name_field, rep_field = naming[row.data_type.split(".", 1)[1]]
            record = record_data(row, stream)
            name = _text(record, name_field)
            if name is not None:
                names.setdefault(source, name)
            rep = _text(record, rep_field)
            if source == AUTHORITY_SOURCE and rep is not None and legal_rep is None:
                legal_rep = rep
    return IdentityEvidence(
        tax_registered_name=names.get(AUTHORITY_SOURCE),
        enterprise_names={s: n for s, n in names.items() if s != AUTHORITY_SOURCE},
        legal_rep_name=legal_rep,
    )
