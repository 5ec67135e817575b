"""The product catalogue and the feature lookup every lending decision starts from."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from puhui.clock import utcnow
from puhui.errors import Conflict, FieldError, InvalidRequest, NotFound
from puhui.lending.models import LoanProduct
from puhui.lending.products import ProductSpec
from puhui.lending.repository import ProductRepository
from puhui.risk.inputs import StoredFeatures, stored_features
from puhui.scenario.featurestore import latest_features

__all__ = ["FeatureLookup", "ProductCatalogue", "scenario_features", "spec_of"]

FeatureLookup = Callable[[AsyncSession, str], Awaitable[StoredFeatures | None]]


def spec_of(row: LoanProduct) -> ProductSpec:
    return msgspec.convert(row.spec, ProductSpec, strict=False)


async def scenario_features(session: AsyncSession, uscc: str) -> StoredFeatures | None:
    """The enterprise's latest features from the scenario store; None when it holds none."""
    found = await latest_features(session, uscc)
    if not found.values:
        return None
    values = {name: feature.value for name, feature in found.values.items()}
    return stored_features(values, found.staleness_by_source, utcnow())


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
