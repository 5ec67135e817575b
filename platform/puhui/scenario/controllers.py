"""HTTP for scenario connectors: partners configure and sync; bank staff watch health, features."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any

import msgspec
from connectors.uscc import is_valid_uscc
from litestar import Controller, Request, Router, get, post
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter

from puhui.audit import record_event
from puhui.db.session import tenant_bypass
from puhui.deps import Db, Subject
from puhui.errors import NotFound
from puhui.gateway.catalogue import declare
from puhui.outbound import CircuitHealth, CircuitState
from puhui.scenario.breakers import breaker_health, connector_breakers
from puhui.scenario.featurestore import latest_features
from puhui.scenario.hosted import hosted_connectors
from puhui.scenario.models import ConnectorInstance, QualityReportRow, SyncRun
from puhui.scenario.repository import InstanceRepository, SyncRunRepository
from puhui.scenario.schemas import (
    BulkImportCreate,
    CircuitRead,
    ConnectorRead,
    EnterpriseFeatures,
    FeatureRead,
    InstanceCreate,
    InstanceHealth,
    InstanceRead,
    PushCreate,
    QualityReportRead,
    SyncCreate,
    SyncRunRead,
)
from puhui.scenario.service import InstanceService, SyncService

__all__ = ["PUSH_SCOPE", "scenario_router"]

Uscc = Annotated[
    str,
    PathParameter(
        pattern=r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$",
        description="Unified social credit code (GB 32100-2015)",
    ),
]
Limit = Annotated[int, QueryParameter(ge=1, le=200, description="Page size")]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000, description="Rows to skip")]
_CONFIGURE = ("owner", "admin", "developer")
PUSH_SCOPE = "scenario.push"  # the partner client's webhook scope (JR/T 0269 7.3.2 c push mode)
_TAG = "Scenario connectors"


def instance_read(i: ConnectorInstance) -> InstanceRead:
    return InstanceRead(
        id=i.id,
        name=i.name,
        connector=i.connector,
        config=dict(i.config),
        secret_fields_set=list(i.secret_fields) if i.secrets_enc else [],
        status=i.status,
        is_sandbox=i.is_sandbox,
        created_at=i.created_at,
        version=i.version,
    )


def run_read(r: SyncRun) -> SyncRunRead:
    return SyncRunRead(
        id=r.id,
        instance_id=r.instance_id,
        connector=r.connector,
        channel=r.channel,
        consent_id=r.consent_id,
        uscc=r.uscc,
        streams=list(r.streams),
        started_at=r.started_at,
        finished_at=r.finished_at,
        outcome=r.outcome,
        records_in=r.records_in,
        records_inserted=r.records_inserted,
        records_updated=r.records_updated,
        records_unchanged=r.records_unchanged,
        degraded=r.degraded,
        stale_since=r.stale_since,
        staleness_s=r.staleness_s,
        errors=list(r.errors),
    )


def quality_read(q: QualityReportRow) -> QualityReportRead:
    return QualityReportRead(
        stream=q.stream,
        rows_in=q.rows_in,
        rows_accepted=q.rows_accepted,
        rows_rejected=q.rows_rejected,
        duplicates_removed=q.duplicates_removed,
        superseded=q.superseded,
        rejection_reasons=dict(q.rejection_reasons),
        rejection_samples=list(q.rejection_samples),
        null_per_mille=dict(q.null_per_mille),
    )


def _connector_read(name: str) -> ConnectorRead:
    connector = hosted_connectors()[name]
    spec = connector.spec()
    fields = msgspec.structs.fields(spec.config_schema)
    catalog = getattr(connector, "catalog", None)
    streams = [s.name for s in catalog().streams] if callable(catalog) else []
    return ConnectorRead(
        name=spec.name,
        version=spec.version,
        title=spec.title,
        category=str(spec.category),
        data_source=spec.data_source,
        auth_kind=str(spec.auth_kind),
        modes=sorted(str(m) for m in spec.modes),
        streams=streams,
        config_fields=[f.name for f in fields],
        secret_fields=sorted(spec.secret_fields),
        features=[f"{f.spec.name}@v{f.spec.version}" for f in connector.features()],
    )


class ConnectorInstanceController(Controller):
    path = "/api/v1"

    @get(
        "/connectors",
        **declare(
            operation_id="ListConnectors",
            summary="Scenario connectors this platform hosts",
            tag=_TAG,
            level="A1",
            service="05",
            sequence=1,
            audience="member",
        ),
    )
    async def list_connectors(self, subject: Subject) -> list[ConnectorRead]:
        return [_connector_read(name) for name in sorted(hosted_connectors())]

    @post(
        "/connector-instances",
        **declare(
            operation_id="CreateConnectorInstance",
            summary="Configure a connector for the caller's organisation",
            tag=_TAG,
            level="A1",
            service="05",
            sequence=2,
            audience="member",
            roles=_CONFIGURE,
            errors=(409,),
        ),
    )
    async def create_instance(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        data: JSONBody[InstanceCreate],
    ) -> InstanceRead:
        sandbox = bool(request.app.state.settings.sandbox)
        return instance_read(await InstanceService(db, subject).create(data, is_sandbox=sandbox))

    @get(
        "/connector-instances",
        **declare(
            operation_id="ListConnectorInstances",
            summary="The caller's connector instances",
            tag=_TAG,
            level="A1",
            service="05",
            sequence=3,
            audience="member",
        ),
    )
    async def list_instances(
        self, db: Db, subject: Subject, limit: Limit = 50, offset: Offset = 0
    ) -> list[InstanceRead]:
        return [instance_read(i) for i in await InstanceService(db, subject).page(limit, offset)]

    @get(
        "/connector-instances/{instance_id:uuid}",
        **declare(
            operation_id="GetConnectorInstance",
            summary="One connector instance (secrets are never shown)",
            tag=_TAG,
            level="A1",
            service="05",
            sequence=4,
            audience="member",
            resource="connector_instance",
        ),
    )
    async def get_instance(
        self, db: Db, subject: Subject, instance_id: FromPath[uuid.UUID]
    ) -> InstanceRead:
        return instance_read(await InstanceService(db, subject).get(instance_id))

    @post(
        "/connector-instances/{instance_id:uuid}/syncs",
        **declare(
            operation_id="RunConnectorSync",
            summary="Collect the consenting enterprise's data through this instance",
            description=(
                "Runs in the request at sandbox scale. Fetches only what the consent covers and "
                "stops when it is revoked (JR/T 0269 6.1); degraded runs state their staleness."
            ),
            tag=_TAG,
            level="A1",
            service="05",
            sequence=5,
            audience="member",
            roles=_CONFIGURE,
            resource="connector_instance",
            errors=(409,),
        ),
    )
    async def run_sync(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        subject: Subject,
        instance_id: FromPath[uuid.UUID],
        data: JSONBody[SyncCreate],
    ) -> SyncRunRead:
        breakers = connector_breakers(request.app.state)
        service = SyncService(db, subject, breakers=breakers)
        run = await service.pull(instance_id, data.consent_id, data.streams)
        return run_read(run)

    @get(
        "/connector-instances/{instance_id:uuid}/syncs",
        **declare(
            operation_id="ListConnectorSyncs",
            summary="Sync runs of this instance, newest first",
            tag=_TAG,
            level="A1",
            service="05",
            sequence=6,
            audience="member",
            resource="connector_instance",
        ),
    )
    async def list_syncs(
        self,
        db: Db,
        subject: Subject,
        instance_id: FromPath[uuid.UUID],
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> list[SyncRunRead]:
        runs = await SyncService(db, subject).runs_of(instance_id, limit, offset)
        return [run_read(r) for r in runs]

    @get(
        "/connector-instances/{instance_id:uuid}/syncs/{run_id:uuid}/quality",
        **declare(
            operation_id="GetSyncQuality",
            summary="Data-quality report of a sync run, per stream (JR/T 0269 6.4.2)",
            tag=_TAG,
            level="A1",
            service="05",
            sequence=7,
            audience="member",
            resource="sync_run",
        ),
    )
    async def sync_quality(
        self,
        db: Db,
        subject: Subject,
        instance_id: FromPath[uuid.UUID],
        run_id: FromPath[uuid.UUID],
    ) -> list[QualityReportRead]:
        rows = await SyncService(db, subject).quality_of(instance_id, run_id)
        return [quality_read(q) for q in rows]

    @post(
        "/connector-instances/{instance_id:uuid}/pushes",
        **declare(
            operation_id="PushScenarioRecords",
            summary="Signed webhook: a partner pushes rows of one stream about a consenting firm",
            description=(
                "Called by the partner's OAuth client (scope `scenario.push`), never by a portal "
                "session. The gateway verifies the RFC 9421 HTTP Message Signature over @method, "
                "@target-uri and Content-Digest (RFC 9530), and spends its nonce, before the "
                "handler runs: an unsigned, tampered or replayed push is refused with a problem "
                "document and nothing is stored. Same normaliser and consent gate as a pull."
            ),
            tag=_TAG,
            level="A1",
            service="05",
            sequence=8,
            audience="client",
            scopes=(PUSH_SCOPE,),
            resource="connector_instance",
            errors=(409,),
        ),
    )
    async def push(
        self, db: Db, subject: Subject, instance_id: FromPath[uuid.UUID], data: JSONBody[PushCreate]
    ) -> SyncRunRead:
        return run_read(await SyncService(db, subject).push(instance_id, data))

    @post(
        "/connector-instances/{instance_id:uuid}/imports",
        **declare(
            operation_id="ImportScenarioFile",
            summary="Import a CSV or JSON-lines file of one stream",
            tag=_TAG,
            level="A1",
            service="05",
            sequence=9,
            audience="member",
            roles=_CONFIGURE,
            resource="connector_instance",
            errors=(409, 413),
        ),
    )
    async def bulk_import(
        self,
        db: Db,
        subject: Subject,
        instance_id: FromPath[uuid.UUID],
        data: JSONBody[BulkImportCreate],
    ) -> SyncRunRead:
        return run_read(await SyncService(db, subject).bulk(instance_id, data))


def _circuit(health: CircuitHealth | None) -> CircuitRead:
    if health is None:
        return CircuitRead(
            state=CircuitState.CLOSED.value, consecutive_failures=0, opened_at=None, probe_at=None
        )
    return CircuitRead(
        state=health.state.value,
        consecutive_failures=health.consecutive_failures,
        opened_at=health.opened_at,
        probe_at=health.probe_at,
    )


class OperatorConnectorController(Controller):
    """Bank staff: connector health across partners, and an enterprise's features."""

    path = "/api/v1/operator"

    @get(
        "/connectors/health",
        **declare(
            operation_id="OperatorConnectorHealth",
            summary="Health of every connector instance: circuit, last sync, staleness",
            tag="Operator",
            level="A1",
            service="05",
            sequence=10,
            audience="operator",
        ),
    )
    async def health(
        self, request: Request[Any, Any, Any], db: Db, subject: Subject
    ) -> list[InstanceHealth]:
        breakers = connector_breakers(request.app.state)
        known = await breaker_health(breakers, hosted_connectors())
        circuits = {h.upstream: h for h in known}
        with tenant_bypass(db, reason="operator.connector_health"):
            instances = await InstanceRepository(db).list(limit=10_000)
            latest = await SyncRunRepository(db).latest_by_instance()
        record_event(db, "operator.connector_health_viewed", subject=subject)
        out: list[InstanceHealth] = []
        for i in instances:
            run = latest.get(i.id)
            out.append(
                InstanceHealth(
                    instance_id=i.id,
                    tenant_id=i.tenant_id,
                    name=i.name,
                    connector=i.connector,
                    status=i.status,
                    circuit=_circuit(circuits.get(i.connector)),
                    last_sync_at=None if run is None else run.finished_at or run.started_at,
                    last_outcome=None if run is None else run.outcome,
                    degraded=False if run is None else run.degraded,
                    staleness_s=None if run is None else run.staleness_s,
                )
            )
        return out

    @get(
        "/enterprises/{uscc:str}/features",
        **declare(
            operation_id="OperatorEnterpriseFeatures",
            summary="An enterprise's scenario features and the staleness of each source",
            tag="Operator",
            level="A2",
            service="05",
            sequence=11,
            audience="operator",
            roles=("operator", "risk_officer"),
            errors=(404,),
        ),
    )
    async def features(self, db: Db, subject: Subject, uscc: Uscc) -> EnterpriseFeatures:
        if not is_valid_uscc(uscc):  # the check digits are wrong: no enterprise has this code
            raise NotFound("No enterprise has this unified social credit code.")
        found = await latest_features(db, uscc)
        record_event(db, "operator.features_viewed", subject=subject, target=f"enterprise:{uscc}")
        return EnterpriseFeatures(
            uscc=uscc,
            features=[
                FeatureRead(
                    name=f.name,
                    version=f.version,
                    data_source=f.data_source,
                    value=str(f.value) if isinstance(f.value, Decimal) else f.value,
                    as_of=f.as_of,
                    computed_at=f.computed_at,
                    data_as_of=f.data_as_of,
                    reason=f.reason,
                    source_records=len(f.source_records),
                )
                for f in found.values.values()
            ],
            staleness_s_by_source={
                s: int(age.total_seconds()) for s, age in found.staleness_by_source.items()
            },
        )


def scenario_router() -> Router:
    """The scenario domain's routes, for ``create_app``."""
    return Router(
        path="/", route_handlers=[ConnectorInstanceController, OperatorConnectorController]
    )
