"""Logs never carry C2/C3 values in clear: the redaction filter guards the one log handler,
checked by scanning everything logged during a flow with seeded values (JR/T 0171-2020)."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from tests.security_builders import install_probe_routes, signed_caller

from puhui.security.redaction import RedactingFilter

pytestmark = pytest.mark.anyio

SEEDED_ID = "11010519491231002X"  # a resident ID number with a valid check digit
SEEDED_CARD = "6222021234567890128"  # Luhn-valid bank card number


def _app_handler() -> logging.Handler:
    """The handler `puhui.observability.configure_logging` installed (pytest adds its own)."""
    return next(
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RedactingFilter) for f in h.filters)
    )


@pytest.fixture
async def captured(app: Litestar) -> AsyncIterator[tuple[Litestar, io.StringIO]]:
    """The app's own handler (formatter and filters) writing to a buffer as well."""
    install_probe_routes(app)
    handler = _app_handler()
    buffer = io.StringIO()
    tap = logging.StreamHandler(buffer)
    tap.setFormatter(handler.formatter)
    for log_filter in handler.filters:
        tap.addFilter(log_filter)
    root = logging.getLogger()
    root.addHandler(tap)
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        async with app.lifespan():
            yield app, buffer
    finally:
        root.removeHandler(tap)
        root.setLevel(level)


async def test_configure_logging_attaches_the_redacting_filter(app: Litestar) -> None:
    assert app.state.settings is not None  # create_app configured logging
    assert isinstance(_app_handler(), logging.StreamHandler)


async def test_seeded_values_never_reach_the_log(captured: tuple[Litestar, io.StringIO]) -> None:
    app, buffer = captured
    caller = await signed_caller(app)
    response = await caller.call("GET", "/api/v1/security-probe/a1")
    assert response.status_code == 200
    log = logging.getLogger("puhui.flow")
    log.warning("customer %s called with card %s", SEEDED_ID, SEEDED_CARD)
    log.info("application", extra={"id_number": SEEDED_ID, "password": "Correct-Horse-42"})
    log.error("lookup failed for %s", {"phone": "13812345678", "otp": "493027"})

    text = buffer.getvalue()
    assert "customer" in text  # the lines were written
    for secret in (SEEDED_ID, SEEDED_CARD, "Correct-Horse-42", "13812345678", "493027"):
        assert secret not in text
