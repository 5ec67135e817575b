"""The connector kit: normalisers stated as field mappings, streams with defaults."""

from __future__ import annotations

import msgspec
import pytest
from connectors.catalog import FieldClass, Shape, Volatility
from connectors.cleaning import RowRejected
from connectors.kit import (
    ENTERPRISE_PATH,
    api_key_auth,
    bearer_auth,
    fen,
    integer,
    kwh,
    mapped,
    one_of,
    period,
    stream,
    text,
    uscc,
)
from connectors.personas import PERSONAS

C1, C2 = FieldClass.C1, FieldClass.C2
PAYER = PERSONAS[0].uscc


class Sale(msgspec.Struct, frozen=True, kw_only=True):
    sale_id: str
    uscc: str
    period: str
    amount_fen: int
    kind: str


NORMALISE = mapped(
    Sale,
    sale_id=text("no"),
    uscc=uscc("payer"),
    period=period("month"),
    amount_fen=fen("amount"),
    kind=one_of("kind", {"retail": "retail", "零售": "retail", "B2B": "wholesale"}, "bad_kind"),
)


def test_a_mapping_reads_cleans_and_names_its_raw_fields() -> None:
    row = {"no": " S-1 ", "payer": PAYER.lower(), "month": "2024年3月", "amount": "1.5万元"}
    sale = NORMALISE(row | {"kind": "b2b"})
    assert sale == Sale(
        sale_id="S-1", uscc=PAYER, period="2024-03", amount_fen=1_500_000, kind="wholesale"
    )
    assert NORMALISE.raw_fields == ("no", "payer", "month", "amount", "kind")
    assert kwh("usage", "unit").fields == ("usage", "unit")


def test_the_first_bad_field_rejects_the_row_with_its_reason() -> None:
    row = {"no": "S-1", "payer": PAYER, "month": "2024-03", "amount": "1", "kind": "gift"}
    with pytest.raises(RowRejected) as bad_kind:
        NORMALISE(row)
    assert bad_kind.value.reason == "bad_kind: kind"
    with pytest.raises(RowRejected) as too_big:
        integer("quarter", minimum=1, maximum=4).fn({"quarter": "5"})
    assert too_big.value.reason == "out_of_range: quarter"


def test_a_mapping_must_cover_exactly_the_record_fields() -> None:
    with pytest.raises(TypeError, match="missing"):
        mapped(Sale, sale_id=text("no"))
    with pytest.raises(TypeError, match="unknown"):
        mapped(
            Sale,
            sale_id=text("no"),
            uscc=uscc("payer"),
            period=period("month"),
            amount_fen=fen("amount"),
            kind=text("kind"),
            extra=text("x"),
        )


def test_a_stream_states_what_differs_and_defaults_the_rest() -> None:
    binding = stream(
        "monthly_sales",
        "Monthly sales",
        normaliser=NORMALISE,
        key="sale_id",
        cursor="period",
        classes={"sale_id": C1, "uscc": C1, "period": C1, "amount_fen": C2, "kind": C1},
    )
    spec = binding.spec
    assert binding.path == ENTERPRISE_PATH + "monthly-sales"
    assert binding.raw_fields == NORMALISE.raw_fields
    assert spec.record_type is Sale
    assert spec.primary_key == ("sale_id",)
    assert spec.data_items == frozenset({"monthly_sales"})
    assert (spec.schema_version, spec.volatility, spec.shape) == (
        1,
        Volatility.DYNAMIC,
        Shape.TIME_SERIES,
    )
    assert spec.problems() == []


def test_auth_helpers_send_the_credential() -> None:
    class Config(msgspec.Struct):
        api_key: str = "k-1"
        access_token: str = "t-1"

    assert api_key_auth()(Config()) == {"x-api-key": "k-1"}
    assert bearer_auth()(Config()) == {"authorization": "Bearer t-1"}
