"""The utilities connector: water and electricity usage and bills (JR/T 0269 7.2.2 production)."""

from __future__ import annotations

from connectors.catalog import FieldClass
from connectors.kit import ApiKeyConfig, api_key_auth, stream
from connectors.scenario import ScenarioConnector
from connectors.spec import AuthKind, ConnectionMode, ConnectorSpec, ScenarioCategory
from connectors.utilities import normalise
from connectors.utilities.features import UTILITY_FEATURES

__all__ = ["UtilitiesConfig", "connector"]

C1, C2 = FieldClass.C1, FieldClass.C2


class UtilitiesConfig(ApiKeyConfig, frozen=True, kw_only=True):
    """Where the utility's data API is and the API key it issued to the bank."""


_USAGE = {"reading_id": C1, "uscc": C1, "meter_id": C1, "period": C1, "read_on": C1}

BINDINGS = (
    stream(
        "electricity_usage",
        "Monthly electricity consumption (kWh)",
        normaliser=normalise.normalise_electricity,
        key="reading_id",
        cursor="period",
        classes=_USAGE | {"kwh": C2},
    ),
    stream(
        "water_usage",
        "Monthly water consumption (m³)",
        normaliser=normalise.normalise_water,
        key="reading_id",
        cursor="period",
        classes=_USAGE | {"m3": C2},
    ),
    stream(
        "bills",
        "Water and electricity bills and payments",
        normaliser=normalise.normalise_bill,
        key="bill_id",
        cursor="period",
        items={"utility_bills"},
        classes={
            "bill_id": C1,
            "uscc": C1,
            "utility": C1,
            "period": C1,
            "amount_fen": C2,
            "due_on": C1,
            "paid_fen": C2,
            "paid_on": C1,
        },
    ),
)

SPEC = ConnectorSpec(
    name="utilities",
    version="1.0.0",
    title="Water and electricity",
    category=ScenarioCategory.PRODUCTION_OPERATION,
    data_source="Local grid company and water utility customer-data APIs",
    auth_kind=AuthKind.API_KEY,
    modes=frozenset(
        {ConnectionMode.PULL_API, ConnectionMode.BULK_FILE, ConnectionMode.PUSH_WEBHOOK}
    ),
    config_schema=UtilitiesConfig,
    description="Monthly water (m³) and electricity (kWh) consumption, bills and arrears.",
)

connector: ScenarioConnector[UtilitiesConfig] = ScenarioConnector(
    spec=SPEC,
    config_type=UtilitiesConfig,
    auth_headers=api_key_auth(),
    bindings=BINDINGS,
    features=UTILITY_FEATURES,
)
