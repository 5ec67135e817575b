"""One path from raw upstream rows to provenance-stamped records, whatever the channel.

Pull reads, bulk files and partner pushes all go through :class:`StreamPipeline`, so the
same normaliser, de-duplication and quality accounting apply to every collection channel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime

import msgspec

from connectors.catalog import StreamSpec
from connectors.cleaning import Deduplicator, RowRejected, Sighting, content_hash
from connectors.quality import QualityReport, QualityTally
from connectors.records import Provenance, Record
from connectors.spec import ConnectionMode

__all__ = ["Normaliser", "StreamBinding", "StreamPipeline"]

Normaliser = Callable[[Mapping[str, object]], msgspec.Struct]
"""Raw upstream row → canonical record; raises RowRejected for rows it cannot repair."""


class StreamBinding(msgspec.Struct, frozen=True, kw_only=True):
    """How a stream is fetched and normalised: its spec, upstream path and normaliser."""

    spec: StreamSpec
    path: str  # upstream path template, "{uscc}" is replaced by the consent's subject
    raw_fields: tuple[str, ...]  # fields of the upstream row, for null-rate accounting
    normaliser: Normaliser


class StreamPipeline:
    """Normalises, de-duplicates and stamps provenance on the rows of one stream."""

    def __init__(
        self,
        binding: StreamBinding,
        *,
        source: str,
        connector_version: str,
        channel: ConnectionMode,
    ) -> None:
        self.binding = binding
        self._source = source
        self._version = connector_version
        self._channel = channel
        self._dedup = Deduplicator()
        self._tally = QualityTally(binding.spec.name, binding.raw_fields)

    def process(
        self,
        rows: Iterable[Mapping[str, object]],
        *,
        consent_id: str,
        fetched_at: datetime,
        expected_uscc: str | None,
        snapshot_taken_at: datetime | None = None,
        consent_for: Callable[[str], str | None] | None = None,
    ) -> Iterator[Record]:
        """Yield the accepted, non-duplicate records of ``rows``; tally everything else.

        ``consent_for`` (bulk files, where each row may be about another enterprise) names the
        consent a row's USCC is collected under, or None to reject the row ("no_consent").
        Provenance is made once per enterprise and consent: records share the frozen value.
        """
        spec = self.binding.spec
        provenances: dict[tuple[str, str], Provenance] = {}
        normalise = self.binding.normaliser
        raw_fields = self.binding.raw_fields
        only_key = spec.primary_key[0] if len(spec.primary_key) == 1 else None
        for raw in rows:
            row = self._tally.saw(raw, raw_fields)
            try:
                data = normalise(raw)
            except RowRejected as rejected:
                self._tally.rejected(row, rejected.reason)
                continue
            subject = str(getattr(data, "uscc", ""))
            if expected_uscc is not None and subject != expected_uscc:
                # Never let a row about another enterprise through under this consent (6.1).
                self._tally.rejected(row, "foreign_subject: uscc")
                continue
            key = (
                str(getattr(data, only_key))
                if only_key is not None
                else "|".join([str(getattr(data, name)) for name in spec.primary_key])
            )
            digest = content_hash(data)
            sighting = self._dedup.observe(key, digest)
            if sighting is Sighting.DUPLICATE:
                self._tally.duplicates_removed += 1
                continue
            held_under = consent_id
            if consent_for is not None:
                found = consent_for(subject)
                if found is None:  # JR/T 0269 6.3.2 e: no row without a consent for its subject
                    self._tally.rejected(row, "no_consent: uscc")
                    continue
                held_under = found
            if sighting is Sighting.SUPERSEDES:
                self._tally.superseded += 1
            self._tally.rows_accepted += 1
            provenance = provenances.get((subject, held_under))
            if provenance is None:
                provenance = provenances[(subject, held_under)] = Provenance(
                    data_source=self._source,
                    collection_channel=self._channel,
                    collection_object=subject,
                    data_type=f"{self._source}.{spec.name}",
                    consent_id=held_under,
                    fetched_at=fetched_at,
                    schema_version=spec.schema_version,
                    connector_version=self._version,
                    origin=spec.origin,
                    access=spec.access,
                    volatility=spec.volatility,
                    shape=spec.shape,
                    snapshot_taken_at=snapshot_taken_at,
                )
            yield Record(
                stream=spec.name, key=key, content_hash=digest, data=data, provenance=provenance
            )

    def report(self) -> QualityReport:
        return self._tally.report(self.binding.raw_fields)
