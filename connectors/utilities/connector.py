"""The utilities connector: water and electricity usage and bills (JR/T 0269 7.2.2 production)."""

from __future__ import annotations

from collections.abc import Mapping

from connectors.catalog import FieldClass, Shape, StreamSpec, Volatility, classified
from connectors.pipeline import StreamBinding
from connectors.scenario import PullApiConfig, ScenarioConnector
from connectors.spec import AuthKind, ConnectionMode, ConnectorSpec, ScenarioCategory, Secret
from connectors.utilities import normalise
from connectors.utilities.features import UTILITY_FEATURES
from connectors.utilities.schemas import ElectricityUsage, UtilityBill, WaterUsage

__all__ = ["UtilitiesConfig", "connector"]

C1, C2 = FieldClass.C1, FieldClass.C2
_PATH = "/v1/enterprises/{uscc}/"


class UtilitiesConfig(PullApiConfig, frozen=True, kw_only=True):
    """Where the utility's data API is and the API key it issued to the bank."""

    api_key: Secret


def _auth(config: UtilitiesConfig) -> Mapping[str, str]:
    return {"x-api-key": config.api_key}


_USAGE = classified(reading_id=C1, uscc=C1, meter_id=C1, period=C1, read_on=C1)

BINDINGS = (
    StreamBinding(
        spec=StreamSpec(
            name="electricity_usage",
            title="Monthly electricity consumption (kWh)",
            record_type=ElectricityUsage,
            schema_version=1,
            primary_key=("reading_id",),
            cursor_field="period",
            data_items=frozenset({"electricity_usage"}),
            fields=(*_USAGE, *classified(kwh=C2)),
            volatility=Volatility.DYNAMIC,
            shape=Shape.TIME_SERIES,
        ),
        path=_PATH + "electricity-usage",
        raw_fields=normalise.USAGE_FIELDS,
        normaliser=normalise.normalise_electricity,
    ),
    StreamBinding(
        spec=StreamSpec(
            name="water_usage",
            title="Monthly water consumption (m³)",
            record_type=WaterUsage,
            schema_version=1,
            primary_key=("reading_id",),
            cursor_field="period",
            data_items=frozenset({"water_usage"}),
            fields=(*_USAGE, *classified(m3=C2)),
            volatility=Volatility.DYNAMIC,
            shape=Shape.TIME_SERIES,
        ),
        path=_PATH + "water-usage",
        raw_fields=normalise.USAGE_FIELDS,
        normaliser=normalise.normalise_water,
    ),
    StreamBinding(
        spec=StreamSpec(
            name="bills",
            title="Water and electricity bills and payments",
            record_type=UtilityBill,
            schema_version=1,
            primary_key=("bill_id",),
            cursor_field="period",
            data_items=frozenset({"utility_bills"}),
            fields=classified(
                bill_id=C1,
                uscc=C1,
                utility=C1,
                period=C1,
                amount_fen=C2,
                due_on=C1,
                paid_fen=C2,
                paid_on=C1,
            ),
            volatility=Volatility.DYNAMIC,
            shape=Shape.TIME_SERIES,
        ),
        path=_PATH + "bills",
        raw_fields=normalise.BILL_FIELDS,
        normaliser=normalise.normalise_bill,
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
    auth_headers=_auth,
    bindings=BINDINGS,
    features=UTILITY_FEATURES,
)
