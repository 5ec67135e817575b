"""Connector configs with their secret fields sealed at rest and never shown back (JR/T 0171)."""

from __future__ import annotations

from typing import Any

import msgspec
from connectors.spec import ConnectorSpec

from puhui.errors import FieldError, InvalidRequest
from puhui.scenario.models import ConnectorInstance
from puhui.security.fieldcrypto import field_aad
from puhui.security.keyring import keyring

__all__ = ["open_config", "seal_config"]

_TABLE = "scenario_connector_instances"


def _aad(instance: ConnectorInstance) -> bytes:
    return field_aad(_TABLE, "secrets", instance.id)


def seal_config(instance: ConnectorInstance, spec: ConnectorSpec, raw: dict[str, Any]) -> None:
    """Validate ``raw`` against the connector's schema and store it, secrets encrypted."""
    try:
        parsed = spec.parse_config(raw)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(errors=[FieldError("config", str(exc))]) from None
    values: dict[str, Any] = msgspec.to_builtins(parsed)
    secret = spec.secret_fields
    instance.config = {k: v for k, v in values.items() if k not in secret}
    instance.secret_fields = sorted(secret)
    secrets = {k: v for k, v in values.items() if k in secret}
    instance.secrets_enc = (
        keyring().encrypt(msgspec.json.encode(secrets), _aad(instance)) if secrets else None
    )


def open_config(instance: ConnectorInstance, spec: ConnectorSpec) -> msgspec.Struct:
    """The instance's full config, secrets decrypted, for the connector only."""
    values = dict(instance.config)
    if instance.secrets_enc:
        values |= msgspec.json.decode(keyring().decrypt(instance.secrets_enc, _aad(instance)))
    return spec.parse_config(values)
