"""Rule-set and model versions: published as data, compiled once, found again for replay.

Rule sets (9.2.2 a) and scorecard models (9.2.2 b) are stored whole in the database, so a stored
decision can be replayed with exactly the version it used after newer ones are published.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from puhui.errors import Conflict, FieldError, InvalidRequest, NotFound
from puhui.risk.decision import FeatureValue
from puhui.risk.limits import LimitPolicy
from puhui.risk.models import RuleSetVersion, ScoringModelVersion
from puhui.risk.repository import ModelRepository, RuleSetRepository
from puhui.risk.rules import AdmissionRuleSet, RuleSetError
from puhui.risk.rulesets import parse_ruleset
from puhui.risk.scorecard import ScorecardModel

__all__ = [
    "SANDBOX_LIMIT_POLICY",
    "ModelRegistry",
    "RuleSetRegistry",
    "ScorecardScorer",
    "ScoredApplicant",
]

# Grade multipliers for the master scale's grades (puhui-sme-2024); versioned with the products.
SANDBOX_LIMIT_POLICY: Final = LimitPolicy(
    policy_id="puhui-sme-limit",
    version="2024.1",
    grade_multipliers={
        "A1": Decimal("1.20"),
        "A2": Decimal("1.15"),
        "A3": Decimal("1.10"),
        "B1": Decimal("1.00"),
        "B2": Decimal("0.95"),
        "B3": Decimal("0.90"),
        "C1": Decimal("0.75"),
        "C2": Decimal("0.60"),
        "D": Decimal("0.40"),
        "E": Decimal("0"),
    },
)

_COMPILED: dict[tuple[str, str, str], AdmissionRuleSet] = {}
_MODELS: dict[tuple[str, str, str], ScorecardModel] = {}


@dataclass(frozen=True, slots=True)
class ScoredApplicant:
    """A scorecard result in the shape `puhui.risk.decision.ScoreOutcome` asks for."""

    score: int
    pd: float
    grade: str
    reason_codes: tuple[str, ...]


class ScorecardScorer:
    """Adapts a `ScorecardModel` to the decision's `Scorer` protocol (integer points)."""

    def __init__(self, model: ScorecardModel) -> None:
        self.model = model

    @property
    def model_id(self) -> str:
        return self.model.model_id

    @property
    def model_version(self) -> str:
        return self.model.version

    def score(self, features: Mapping[str, FeatureValue]) -> ScoredApplicant:
        points, pd, grade, reason_codes = self.model.score_summary(features)
        return ScoredApplicant(score=round(points), pd=pd, grade=grade, reason_codes=reason_codes)


def _compile(row: RuleSetVersion) -> AdmissionRuleSet:
    key = (row.ruleset_id, row.version, row.content_hash)
    compiled = _COMPILED.get(key)
    if compiled is None:
        compiled = parse_ruleset(row.document)
        if compiled.content_hash != row.content_hash:
            raise Conflict(f"rule set {row.ruleset_id} {row.version} does not match its hash")
        _COMPILED[key] = compiled
    return compiled


class RuleSetRegistry:
    """Published admission rule sets; the one in force is the latest effective_from ≤ now."""

    def __init__(self, session: AsyncSession) -> None:
        self.rows = RuleSetRepository(session)

    async def publish(
        self, document: bytes, *, published_by: uuid.UUID | None, note: str = ""
    ) -> RuleSetVersion:
        """Validate, compile and store a new version; a stored (id, version) is never replaced."""
        try:
            compiled = parse_ruleset(document)
        except RuleSetError as exc:
            raise InvalidRequest(errors=[FieldError("document", str(exc))]) from exc
        if await self.rows.find(compiled.id, compiled.version) is not None:
            raise Conflict(f"rule set {compiled.id} {compiled.version} is already published.")
        row = self.rows.add(
            RuleSetVersion(
                ruleset_id=compiled.id,
                version=compiled.version,
                effective_from=compiled.effective_from,
                content_hash=compiled.content_hash,
                document=document.decode("utf-8"),
                published_by=published_by,
                note=note,
            )
        )
        await self.rows.flush()
        _COMPILED[(compiled.id, compiled.version, compiled.content_hash)] = compiled
        return row

    async def versions(self) -> Sequence[RuleSetVersion]:
        return await self.rows.all_versions()

    async def in_force(self, at: datetime) -> AdmissionRuleSet:
        """Documents are read and compiled once per process; later calls read only headers."""
        headers = await self.rows.headers()
        in_force = [h for h in headers if h[3] <= at]
        if not in_force:
            raise NotFound("No admission rule set is in force.")
        ruleset_id, version, digest, _ = max(in_force, key=lambda h: h[3])
        compiled = _COMPILED.get((ruleset_id, version, digest))
        if compiled is None:
            compiled = await self.exact(ruleset_id, version)
        if compiled.effective_from > at:
            raise Conflict(f"rule set {ruleset_id} {version} is not yet in force")
        return compiled

    async def exact(self, ruleset_id: str, version: str) -> AdmissionRuleSet:
        row = await self.rows.find(ruleset_id, version)
        if row is None:
            raise NotFound(f"Rule set {ruleset_id} {version} is not stored.")
        return _compile(row)


class ModelRegistry:
    """Registered scorecard model files; one is active for new decisions."""

    def __init__(self, session: AsyncSession) -> None:
        self.rows = ModelRepository(session)

    async def register(self, document: bytes, *, activate: bool) -> ScoringModelVersion:
        model = ScorecardModel.from_json(document)
        digest = hashlib.sha256(document).hexdigest()
        row = await self.rows.find(model.model_id, model.version)
        if row is not None:
            if row.sha256 != digest:
                raise Conflict(f"model {model.model_id} {model.version} exists with other content")
        else:
            row = self.rows.add(
                ScoringModelVersion(
                    model_id=model.model_id,
                    version=model.version,
                    sha256=digest,
                    document=document.decode("utf-8"),
                    active=False,
                )
            )
        if activate:
            for other in await self.rows.active():
                other.active = False
            row.active = True
        await self.rows.flush()
        _MODELS[(model.model_id, model.version, digest)] = model
        return row

    async def active_scorer(self) -> ScorecardScorer:
        header = await self.rows.active_header()
        if header is None:
            raise NotFound("No scoring model is active.")
        model = _MODELS.get(header)
        if model is not None:
            return ScorecardScorer(model)
        return await self.exact(header[0], header[1])

    async def exact(self, model_id: str, version: str) -> ScorecardScorer:
        row = await self.rows.find(model_id, version)
        if row is None:
            raise NotFound(f"Model {model_id} {version} is not registered.")
        return self._scorer(row)

    @staticmethod
    def _scorer(row: ScoringModelVersion) -> ScorecardScorer:
        key = (row.model_id, row.version, row.sha256)
        model = _MODELS.get(key)
        if model is None:
            model = ScorecardModel.from_json(row.document, source=f"{row.model_id} {row.version}")
            _MODELS[key] = model
        return ScorecardScorer(model)
