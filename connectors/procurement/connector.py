"""The procurement connector: government e-procurement awards, orders, payments (7.2.2)."""

from __future__ import annotations

from collections.abc import Mapping

from connectors.catalog import Access, FieldClass, Shape, StreamSpec, Volatility, classified
from connectors.pipeline import StreamBinding
from connectors.procurement import normalise
from connectors.procurement.features import PROCUREMENT_FEATURES
from connectors.procurement.schemas import PaymentReceived, ProcurementAward, PurchaseOrder
from connectors.scenario import PullApiConfig, ScenarioConnector
from connectors.spec import AuthKind, ConnectionMode, ConnectorSpec, ScenarioCategory, Secret

__all__ = ["ProcurementConfig", "connector"]

C1, C2 = FieldClass.C1, FieldClass.C2
_PATH = "/v1/enterprises/{uscc}/"


class ProcurementConfig(PullApiConfig, frozen=True, kw_only=True):
    """Where the e-procurement platform's API is and the API key it issued to the bank."""

    api_key: Secret


def _auth(config: ProcurementConfig) -> Mapping[str, str]:
    return {"x-api-key": config.api_key}


BINDINGS = (
    StreamBinding(
        spec=StreamSpec(
            name="awards",
            title="Public procurement awards and contracts",
            record_type=ProcurementAward,
            schema_version=1,
            primary_key=("award_id",),
            cursor_field="awarded_on",
            data_items=frozenset({"procurement_awards"}),
            fields=classified(
                award_id=C1,
                uscc=C1,
                buyer=C1,
                project=C1,
                awarded_on=C1,
                amount_fen=C1,
                contract_id=C1,
                contract_signed_on=C1,
            ),
            volatility=Volatility.DYNAMIC,
            shape=Shape.TIME_SERIES,
            # Award notices are published by law (政府采购法 第六十一条): public data.
            access=Access.PUBLIC,
        ),
        path=_PATH + "awards",
        raw_fields=normalise.AWARD_FIELDS,
        normaliser=normalise.normalise_award,
    ),
    StreamBinding(
        spec=StreamSpec(
            name="purchase_orders",
            title="Purchase orders under awarded contracts",
            record_type=PurchaseOrder,
            schema_version=1,
            primary_key=("order_id",),
            cursor_field="ordered_on",
            data_items=frozenset({"purchase_orders"}),
            fields=classified(
                order_id=C1, uscc=C1, contract_id=C1, buyer=C1, ordered_on=C1, amount_fen=C2
            ),
            volatility=Volatility.DYNAMIC,
            shape=Shape.TIME_SERIES,
        ),
        path=_PATH + "purchase-orders",
        raw_fields=normalise.ORDER_FIELDS,
        normaliser=normalise.normalise_order,
    ),
    StreamBinding(
        spec=StreamSpec(
            name="payments_received",
            title="Payments received from public buyers",
            record_type=PaymentReceived,
            schema_version=1,
            primary_key=("payment_id",),
            cursor_field="received_on",
            data_items=frozenset({"payments_received"}),
            fields=classified(payment_id=C1, uscc=C1, payer=C1, received_on=C1, amount_fen=C2),
            volatility=Volatility.DYNAMIC,
            shape=Shape.TIME_SERIES,
        ),
        path=_PATH + "payments-received",
        raw_fields=normalise.PAYMENT_FIELDS,
        normaliser=normalise.normalise_payment,
    ),
)

SPEC = ConnectorSpec(
    name="procurement",
    version="1.0.0",
    title="Government e-procurement",
    category=ScenarioCategory.PUBLIC_SERVICE,
    data_source="Government e-procurement platform (政府采购电子交易平台)",
    auth_kind=AuthKind.API_KEY,
    modes=frozenset({ConnectionMode.PULL_API, ConnectionMode.BULK_FILE}),
    config_schema=ProcurementConfig,
    description="Awards and contracts, purchase orders, supplier payments received.",
)

connector: ScenarioConnector[ProcurementConfig] = ScenarioConnector(
    spec=SPEC,
    config_type=ProcurementConfig,
    auth_headers=_auth,
    bindings=BINDINGS,
    features=PROCUREMENT_FEATURES,
)
