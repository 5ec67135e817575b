"""The product catalogue and the feature lookup every lending decision starts from."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.clock import utcnow
from puhui.errors import Conflict, FieldError, InvalidRequest, NotFound
from puhui.lending.models import LoanProduct
from puhui.lending.products import ProductSpec
from puhui.lending.repository import ProductRepository
from puhui.risk.inputs import StoredFeatures, stored_features
from puhui.scenario.featurestore import latest_features, latest_values_many

__all__ = [
    "FeatureLookup",
    "FeatureLookupMany",
    "ProductCatalogue",
    "scenario_features",
    "scenario_features_many",
    "spec_of",
]

FeatureLookup = Callable[[AsyncSession, str], Awaitable[StoredFeatures | None]]
FeatureLookupMany = Callable[
    [AsyncSession, Iterable[str]], Awaitable[dict[str, StoredFeatures | None]]
]


def spec_of(row: LoanProduct) -> ProductSpec:
    return msgspec.convert(row.spec, ProductSpec, strict=False)


async def scenario_features(session: AsyncSession, uscc: str) -> StoredFeatures | None:
    """The enterprise's latest features from the scenario store; None when it holds none."""
    found = await latest_features(session, uscc)
    if not found.values:
        return None
    values = {name: feature.value for name, feature in found.values.items()}
    return stored_features(values, found.staleness_by_source, utcnow())


async def scenario_features_many(
    session: AsyncSession, usccs: Iterable[str]
) -> dict[str, StoredFeatures | None]:
    """:func:`scenario_features` for many enterprises at once (a batch job's read).

    Every requested USCC is a key; its value is what the single lookup would return.
    """
    found = await latest_values_many(session, usccs)
    now = utcnow()
    # What stored_features makes of them, without its checks per value: the store decodes
    # every value to int, Decimal, str or None, which it keeps as they are (tests hold the two
    # lookups equal), and every staleness to a timedelta.
    return {
        uscc: StoredFeatures(
            values=features.values,
            as_of_by_source={s: now - age for s, age in features.staleness_by_source.items()},
        )
        if features.values
        else None
        for uscc, features in found.items()
    }


class ProductCatalogue:
    """Published loan products; a new version never changes an old one (8.4.1)."""

    def __init__(self, session: AsyncSession) -> None:
        self.products = ProductRepository(session)

    async def in_force(self, at: datetime | None = None) -> list[tuple[LoanProduct, ProductSpec]]:
        rows: Sequence[LoanProduct] = await self.products.in_force(at or utcnow())
        return [(row, spec_of(row)) for row in rows]

    async def current(self, code: str, at: datetime | None = None) -> ProductSpec:
        row = await self.products.current(code, at or utcnow())
        if row is None:
            raise NotFound("No such product is offered.")
        return spec_of(row)

    async def version(self, code: str, version: int) -> ProductSpec:
        row = await self.products.find(code, version)
        if row is None:
            raise NotFound("No such product version.")
        return spec_of(row)

    async def publish(self, spec: ProductSpec) -> LoanProduct:
        try:
            spec.validate()
        except ValueError as exc:
            raise InvalidRequest(errors=[FieldError("product", str(exc))]) from exc
        if await self.products.find(spec.code, spec.version) is not None:
            raise Conflict(f"Product {spec.code} version {spec.version} is already published.")
        row = self.products.add(
            LoanProduct(
                code=spec.code,
                version=spec.version,
                scenario=spec.scenario.value,
                effective_from=spec.effective_from,
                effective_to=spec.effective_to,
                spec=msgspec.to_builtins(spec),
            )
        )
        await self.products.flush()
        return row
