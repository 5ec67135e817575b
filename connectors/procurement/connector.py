"""The procurement connector: government e-procurement awards, orders, payments (7.2.2 public)."""

from __future__ import annotations

from connectors.catalog import Access, FieldClass
from connectors.kit import ApiKeyConfig, api_key_auth, stream
from connectors.procurement import normalise
from connectors.procurement.features import PROCUREMENT_FEATURES
from connectors.scenario import ScenarioConnector
from connectors.spec import AuthKind, ConnectionMode, ConnectorSpec, ScenarioCategory

__all__ = ["ProcurementConfig", "connector"]

C1, C2 = FieldClass.C1, FieldClass.C2


class ProcurementConfig(ApiKeyConfig, frozen=True, kw_only=True):
    """Where the e-procurement platform's API is and the API key it issued to the bank."""


BINDINGS = (
    stream(
        "awards",
        "Public procurement awards and contracts",
        normaliser=normalise.normalise_award,
        key="award_id",
        cursor="awarded_on",
        items={"procurement_awards"},
        classes={
            "award_id": C1,
            "uscc": C1,
            "buyer": C1,
            "project": C1,
            "awarded_on": C1,
            "amount_fen": C1,
            "contract_id": C1,
            "contract_signed_on": C1,
        },
        # Award notices are published by law (政府采购法 第六十一条): public data.
        access=Access.PUBLIC,
    ),
    stream(
        "purchase_orders",
        "Purchase orders under awarded contracts",
        normaliser=normalise.normalise_order,
        key="order_id",
        cursor="ordered_on",
        classes={
            "order_id": C1,
            "uscc": C1,
            "contract_id": C1,
            "buyer": C1,
            "ordered_on": C1,
            "amount_fen": C2,
        },
    ),
    stream(
        "payments_received",
        "Payments received from public buyers",
        normaliser=normalise.normalise_payment,
        key="payment_id",
        cursor="received_on",
        classes={"payment_id": C1, "uscc": C1, "payer": C1, "received_on": C1, "amount_fen": C2},
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
    auth_headers=api_key_auth(),
    bindings=BINDINGS,
    features=PROCUREMENT_FEATURES,
)
