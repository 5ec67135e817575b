"""Scenario rules: configure instances, collect under consent, store with provenance, features.

A sync runs inside the caller's unit of work: records and the cursor that covers them are
flushed together at every checkpoint, so they commit (or roll back) together. A queue worker
runs the same :meth:`SyncService.pull` inside its own unit of work.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import msgspec
from connectors.bulk import BulkFormat, BulkRead
from connectors.consent import ConsentGrant
from connectors.personas import REFERENCE_DATE
from connectors.push import PushBatch, validate_push
from connectors.quality import QualityReport
from connectors.records import (
    ConnectorError,
    ConsentDenied,
    Record,
    StateCheckpoint,
    SyncState,
    TransientError,
)
from connectors.scenario import ConnectorRuntime, ScenarioConnector
from connectors.spec import ConnectionMode
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.audit import record_event
from puhui.clock import utcnow
from puhui.errors import Conflict, FieldError, InvalidRequest, ProblemError
from puhui.outbound import UpstreamBreakers, upstream_breakers
from puhui.scenario.consent import CONSENT_REFUSED, GrantLookup, consent_grant
from puhui.scenario.credentials import open_config, seal_config
from puhui.scenario.featurestore import FeatureSet, latest_features, refresh_features
from puhui.scenario.hosted import hosted_connector
from puhui.scenario.models import (
    ConnectorInstance,
    InstanceStatus,
    QualityReportRow,
    SyncOutcome,
    SyncRun,
)
from puhui.scenario.repository import (
    CursorRepository,
    InstanceRepository,
    QualityRepository,
    RecordRepository,
    SyncRunRepository,
    UpsertCounts,
)
from puhui.scenario.schemas import BulkImportCreate, InstanceCreate, PushCreate
from puhui.scenario.snapshots import DbLastGoodStore
from puhui.scenario.store import store_records
from puhui.tenancy.subject import AuthSubject

__all__ = ["FeatureSet", "InstanceService", "SyncService", "latest_features"]

_PUSH_BODY = msgspec.json.Encoder(decimal_format="number")


class InstanceService:
    """A partner's connector instances."""

    def __init__(self, session: AsyncSession, subject: AuthSubject) -> None:
        self.session = session
        self.subject = subject
        self.instances = InstanceRepository(session)

    async def page(self, limit: int, offset: int) -> Sequence[ConnectorInstance]:
        return await self.instances.list(limit=limit, offset=offset)

    async def get(self, instance_id: uuid.UUID) -> ConnectorInstance:
        return await self.instances.get(instance_id)

    async def create(self, data: InstanceCreate, *, is_sandbox: bool) -> ConnectorInstance:
        connector = hosted_connector(data.connector)
        if await self.instances.by_name(data.name) is not None:
            raise Conflict("An instance with this name already exists.")
        instance = ConnectorInstance(
            id=uuid.uuid4(),
            tenant_id=self.subject.tenant_id,
            name=data.name,
            connector=data.connector,
            status=InstanceStatus.ACTIVE,
            is_sandbox=is_sandbox,
        )
        seal_config(instance, connector.spec(), data.config)
        _check_upstream(instance.config, sandbox=is_sandbox)
        self.instances.add(instance)
        await self.instances.flush()
        record_event(
            self.session,
            "scenario.instance_created",
            subject=self.subject,
            target=f"connector_instance:{instance.id}",
            target_tenant_id=self.subject.tenant_id,
            details={"connector": instance.connector, "name": instance.name},
        )
        return instance


def _check_upstream(config: dict[str, Any], *, sandbox: bool) -> None:
    """Outside the sandbox a connector only talks TLS (JR/T 0269 6.3.2 b: secure transmission)."""
    base_url = config.get("base_url")
    if isinstance(base_url, str) and not sandbox and not base_url.startswith("https://"):
        raise InvalidRequest(errors=[FieldError("config.base_url", "must be an https:// URL")])


class _RunLedger:
    """What one run has done so far: counts, quality per stream, errors, freshness."""

    def __init__(self, run: SyncRun) -> None:
        self.run = run
        self.counts = UpsertCounts()
        self.quality: dict[str, QualityReport] = {}
        self.fresh_at: dict[str, datetime] = {}
        self.revoked = False
        self.read_anything = False

    def error(self, item: ConnectorError) -> None:
        kind = type(item).__name__
        self.run.errors = [
            *self.run.errors,
            {"kind": kind, "stream": item.stream, "message": item.message[:500]},
        ]
        if isinstance(item, TransientError) and item.degraded:
            self.run.degraded = True
        if isinstance(item, ConsentDenied) and item.revoked:
            self.revoked = True

    def stale(self, record: Record, data_type: str) -> None:
        taken = record.provenance.snapshot_taken_at
        if taken is None:
            return
        run = self.run
        run.degraded = True
        run.stale_since = taken if run.stale_since is None else min(run.stale_since, taken)
        self.fresh_at[data_type] = min(self.fresh_at.get(data_type, taken), taken)

    def outcome(self) -> SyncOutcome:
        if self.revoked:
            return SyncOutcome.STOPPED
        if self.run.degraded:
            return SyncOutcome.DEGRADED
        if self.run.errors:
            return SyncOutcome.PARTIAL if self.read_anything else SyncOutcome.FAILED
        return SyncOutcome.SUCCEEDED


class SyncService:
    """Collects scenario data through an instance, only ever under a live consent."""

    def __init__(
        self,
        session: AsyncSession,
        subject: AuthSubject,
        *,
        grants: GrantLookup = consent_grant,
        breakers: UpstreamBreakers | None = None,
        runtime: ConnectorRuntime | None = None,
    ) -> None:
        self.session = session
        self.subject = subject
        self._grants = grants
        self._breakers = breakers or upstream_breakers()
        self._runtime = runtime
        self.instances = InstanceRepository(session)
        self.runs = SyncRunRepository(session)
        self.records = RecordRepository(session)
        self.cursors = CursorRepository(session)

    # ------------------------------------------------------------------ reads
    async def runs_of(self, instance_id: uuid.UUID, limit: int, offset: int) -> Sequence[SyncRun]:
        await self.instances.get(instance_id)
        return await self.runs.of_instance(instance_id, limit, offset)

    async def quality_of(
        self, instance_id: uuid.UUID, run_id: uuid.UUID
    ) -> Sequence[QualityReportRow]:
        run = await self.runs.get(run_id)
        if run.instance_id != instance_id:
            from puhui.errors import NotFound

            raise NotFound()
        return await QualityRepository(self.session).of_run(run_id)

    # ------------------------------------------------------------------ collection
    async def _active(
        self, instance_id: uuid.UUID
    ) -> tuple[ConnectorInstance, ScenarioConnector[Any]]:
        instance = await self.instances.get(instance_id)
        if instance.status is not InstanceStatus.ACTIVE:
            raise Conflict("This connector instance is disabled.")
        return instance, hosted_connector(instance.connector)

    async def _live_grant(self, consent_id: uuid.UUID) -> ConsentGrant:
        grant = await self._grants(self.session, consent_id, self.subject.tenant_id)
        # JR/T 0269 6.1: a revoked or expired consent authorises nothing.
        if not await grant.still_valid():
            raise ProblemError(
                f"Consent {consent_id} is revoked or expired.", problem=CONSENT_REFUSED
            )
        return grant

    def _start(
        self,
        instance: ConnectorInstance,
        channel: ConnectionMode,
        consent_id: str,
        uscc: str | None,
        streams: Sequence[str],
    ) -> SyncRun:
        run = SyncRun(
            id=uuid.uuid4(),
            tenant_id=instance.tenant_id,
            instance_id=instance.id,
            connector=instance.connector,
            channel=str(channel),
            consent_id=consent_id,
            uscc=uscc,
            streams=list(streams),
            started_at=utcnow(),
            outcome=SyncOutcome.RUNNING,
            errors=[],
        )
        self.runs.add(run)
        return run

    async def _store(
        self, ledger: _RunLedger, connector: ScenarioConnector[Any], records: Sequence[Record]
    ) -> None:
        if not records:
            return
        spec = connector.binding(records[0].stream).spec
        stored = await store_records(
            self.session, records, spec=spec, tenant_id=self.subject.tenant_id
        )
        ledger.counts = ledger.counts + stored
        ledger.read_anything = True

    async def pull(
        self, instance_id: uuid.UUID, consent_id: uuid.UUID, streams: Sequence[str] | None = None
    ) -> SyncRun:
        """Read the consenting enterprise's data through the instance's upstream, incrementally."""
        instance, connector = await self._active(instance_id)
        grant = await self._live_grant(consent_id)
        names = list(streams or connector.catalog().names)
        unknown = sorted(set(names) - set(connector.catalog().names))
        if unknown:
            raise InvalidRequest(errors=[FieldError("streams", f"unknown streams {unknown}")])
        uscc = grant.subject_uscc
        run = self._start(instance, ConnectionMode.PULL_API, str(consent_id), uscc, names)
        ledger = _RunLedger(run)
        runtime = self._runtime or ConnectorRuntime(breakers=self._breakers)
        bound = connector.with_runtime(
            msgspec.structs.replace(runtime, snapshots=DbLastGoodStore(self.session))
        )
        state = SyncState(await self.cursors.cursors(instance.id, uscc))
        pending: list[Record] = []
        source = connector.spec().name
        reader = bound.read(open_config(instance, connector.spec()), grant, names, state)
        async for item in reader:
            if isinstance(item, Record):
                run.records_in += 1
                ledger.stale(item, item.provenance.data_type)
                pending.append(item)
            elif isinstance(item, StateCheckpoint):
                # Records and the cursor that covers them go into the same transaction.
                await self._store(ledger, connector, pending)
                pending = []
                cursor = item.state.cursor(item.stream)
                if cursor is not None:
                    await self.cursors.advance(
                        instance.tenant_id, instance.id, uscc, item.stream, cursor
                    )
                ledger.quality[item.stream] = item.quality
                ledger.fresh_at.setdefault(f"{source}.{item.stream}", run.started_at)
                ledger.read_anything = True
                await self.session.flush()
            else:
                await self._store(ledger, connector, pending)  # last-good rows before the error
                pending = []
                ledger.error(item)
        await self._store(ledger, connector, pending)
        await self._finish(ledger, instance, connector, {uscc})
        return run

    async def push(self, instance_id: uuid.UUID, data: PushCreate) -> SyncRun:
        """Store a partner's pushed rows; same normaliser and consent gate as a pull."""
        instance, connector = await self._active(instance_id)
        if ConnectionMode.PUSH_WEBHOOK not in connector.spec().modes:
            raise Conflict(f"The {instance.connector} connector does not accept pushes.")
        grant = await self._live_grant(data.consent_id)
        body = _PUSH_BODY.encode(PushBatch(stream=data.stream, items=data.items))
        outcome = await validate_push(connector, body, grant)
        if outcome.error is not None:
            if isinstance(outcome.error, ConsentDenied):
                raise ProblemError(outcome.error.message, problem=CONSENT_REFUSED)
            raise InvalidRequest(errors=[FieldError("stream", outcome.error.message)])
        run = self._start(
            instance,
            ConnectionMode.PUSH_WEBHOOK,
            str(data.consent_id),
            grant.subject_uscc,
            [data.stream],
        )
        ledger = _RunLedger(run)
        run.records_in = len(outcome.records)
        await self._store(ledger, connector, outcome.records)
        if outcome.quality is not None:
            ledger.quality[data.stream] = outcome.quality
        ledger.fresh_at[f"{connector.spec().name}.{data.stream}"] = run.started_at
        await self._finish(ledger, instance, connector, {grant.subject_uscc})
        return run

    async def bulk(self, instance_id: uuid.UUID, data: BulkImportCreate) -> SyncRun:
        """Import a partner's file; a row is kept only under a live consent for its enterprise."""
        instance, connector = await self._active(instance_id)
        if ConnectionMode.BULK_FILE not in connector.spec().modes:
            raise Conflict(f"The {instance.connector} connector does not accept bulk files.")
        if data.stream not in connector.catalog().names:
            raise InvalidRequest(errors=[FieldError("stream", f"unknown stream {data.stream!r}")])
        grants: dict[str, ConsentGrant] = {}
        for consent_id in dict.fromkeys(data.consent_ids):
            grant = await self._live_grant(consent_id)
            grants[grant.subject_uscc] = grant
        read = BulkRead(
            connector,
            data.stream,
            data.content,
            file_format=BulkFormat(data.format),
            consents=grants,
        )
        run = self._start(
            instance,
            ConnectionMode.BULK_FILE,
            _consents_label(data.consent_ids),
            None,
            [data.stream],
        )
        ledger = _RunLedger(run)
        subjects: set[str] = set()
        run.records_in = 0
        # Chunk by chunk: a large file's next chunk is normalised (in a worker process) while
        # this one is stored; every chunk goes into this unit of work.
        async for records in read.chunks():
            run.records_in += len(records)
            await self._store(ledger, connector, records)
            subjects.update(r.provenance.collection_object for r in records)
        if read.quality is None:
            raise RuntimeError("the bulk file was not read to its end")
        ledger.quality[data.stream] = read.quality
        ledger.fresh_at[f"{connector.spec().name}.{data.stream}"] = run.started_at
        await self._finish(ledger, instance, connector, subjects)
        return run

    async def _finish(
        self,
        ledger: _RunLedger,
        instance: ConnectorInstance,
        connector: ScenarioConnector[Any],
        subjects: set[str],
    ) -> None:
        run = ledger.run
        now = utcnow()
        run.finished_at = now
        run.records_inserted = ledger.counts.inserted
        run.records_updated = ledger.counts.updated
        run.records_unchanged = ledger.counts.unchanged
        if run.stale_since is not None:
            run.staleness_s = int((now - run.stale_since).total_seconds())
        run.outcome = ledger.outcome()
        for stream, report in sorted(ledger.quality.items()):
            self.session.add(_quality_row(run, stream, report))
        if ledger.read_anything and ledger.fresh_at:
            as_of = _feature_date(instance)
            for uscc in sorted(subjects):
                await refresh_features(
                    self.session, connector, uscc, as_of=as_of, fresh_at=ledger.fresh_at
                )
        await self.session.flush()
        record_event(
            self.session,
            "scenario.sync",
            subject=self.subject,
            outcome="success" if run.outcome is not SyncOutcome.FAILED else "failure",
            target=f"sync_run:{run.id}",
            target_tenant_id=instance.tenant_id,
            details={
                "connector": run.connector,
                "channel": run.channel,
                "consent_id": run.consent_id,
                "outcome": run.outcome.value,
                "records_in": run.records_in,
                "degraded": run.degraded,
            },
        )


def _consents_label(consent_ids: Sequence[uuid.UUID]) -> str:
    """The run's consent column: the one consent, or how many a bulk file was checked against."""
    unique = set(consent_ids)
    return str(consent_ids[0]) if len(unique) == 1 else f"{len(unique)} consents"


def _feature_date(instance: ConnectorInstance) -> date:
    """Features are computed as of today; sandbox simulators serve data up to a fixed date."""
    return REFERENCE_DATE if instance.is_sandbox else utcnow().date()


def _quality_row(run: SyncRun, stream: str, report: QualityReport) -> QualityReportRow:
    return QualityReportRow(
        tenant_id=run.tenant_id,
        sync_run_id=run.id,
        stream=stream,
        rows_in=report.rows_in,
        rows_accepted=report.rows_accepted,
        rows_rejected=report.rows_rejected,
        duplicates_removed=report.duplicates_removed,
        superseded=report.superseded,
        rejection_reasons=dict(report.rejection_reasons),
        rejection_samples=[{"row": s.row, "reason": s.reason} for s in report.rejection_samples],
        null_per_mille=dict(report.null_per_mille),
    )
