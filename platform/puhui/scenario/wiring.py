"""What ``create_app`` takes from the scenario domain: its router and its sandbox lifespan."""

from __future__ import annotations

from puhui.scenario.controllers import scenario_router
from puhui.scenario.sandbox import sandbox_upstreams

__all__ = ["sandbox_upstreams", "scenario_router"]
