"""Push mode (JR/T 0269 7.3.2 c): validate a batch of records a partner posts to the gateway.

The gateway verifies the partner's signature before this runs; here the payload is decoded,
checked against the consent and normalised exactly like a pull.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from connectors.consent import ConsentGrant
from connectors.quality import QualityReport
from connectors.records import ConnectorError, ConsentDenied, Record, UpstreamDataError
from connectors.scenario import ScenarioConnector
from connectors.spec import ConnectionMode
from puhui.clock import utcnow

__all__ = ["PushBatch", "PushOutcome", "validate_push"]


class PushBatch(msgspec.Struct, frozen=True):
    """The body a partner posts: rows of one stream about one enterprise."""

    stream: str
    items: list[dict[str, Any]]


class PushOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """Accepted records and the quality report, or the error that refused the whole batch."""

    records: tuple[Record, ...] = ()
    quality: QualityReport | None = None
    error: ConnectorError | None = None


_BATCH = msgspec.json.Decoder(PushBatch, float_hook=Decimal)


async def validate_push(
    connector: ScenarioConnector[Any], body: bytes, consent: ConsentGrant
) -> PushOutcome:
    """Decode, consent-check and normalise a pushed batch; rows about others are rejected."""
    try:
        batch = _BATCH.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        return PushOutcome(error=UpstreamDataError(stream=None, message=f"malformed push: {exc}"))
    if batch.stream not in connector.catalog().names:
        return PushOutcome(error=UpstreamDataError(stream=batch.stream, message="unknown stream"))
    pipeline = connector.pipeline(batch.stream, ConnectionMode.PUSH_WEBHOOK)
    missing = consent.missing_items(connector.spec().name, pipeline.binding.spec.data_items)
    if missing or not await consent.still_valid():
        return PushOutcome(
            error=ConsentDenied(
                stream=batch.stream,
                message=f"consent {consent.consent_id} does not cover this push",
                missing_items=missing,
                revoked=not missing,
            )
        )
    records = tuple(
        pipeline.process(
            batch.items,
            consent_id=consent.consent_id,
            fetched_at=utcnow(),
            expected_uscc=consent.subject_uscc,
        )
    )
    return PushOutcome(records=records, quality=pipeline.report())
