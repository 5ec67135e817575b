"""Where the field-encryption keyring comes from (JR/T 0171 C2/C3 at rest).

Production: ``PUHUI_DATA_KEYS`` (JSON ``{"1": "<base64 32 bytes>", ...}``),
``PUHUI_DATA_KEY_CURRENT`` and ``PUHUI_DATA_INDEX_KEY`` from the bank's secret store.
Sandbox and tests: a key file made once in the key directory (mode 0600), so the
embedded default needs no set-up.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from puhui.config import Settings
from puhui.security.fieldcrypto import FieldKeyring

__all__ = ["DataKeyError", "add_data_key", "data_keyring", "install_keyring", "keyring"]

_FILE = "data-keys.json"
_current: FieldKeyring | None = None


class DataKeyError(RuntimeError):
    """No usable field-encryption keys: refuse to start rather than store C2 data in clear."""


def _new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def _key_file(settings: Settings) -> Path:
    return settings.key_dir / _FILE


def data_keyring(settings: Settings) -> FieldKeyring:
    """The keyring from the environment, or (sandbox only) from the key file, made on first use."""
    env_keys = os.environ.get("PUHUI_DATA_KEYS")
    if env_keys:
        try:
            keys = json.loads(env_keys)
            current = int(os.environ.get("PUHUI_DATA_KEY_CURRENT") or max(int(k) for k in keys))
            return FieldKeyring.from_base64(keys, current, os.environ["PUHUI_DATA_INDEX_KEY"])
        except (ValueError, KeyError, TypeError) as exc:
            raise DataKeyError(
                "PUHUI_DATA_KEYS / PUHUI_DATA_KEY_CURRENT / PUHUI_DATA_INDEX_KEY are invalid"
            ) from exc
    path = _key_file(settings)
    if not path.exists():
        if not settings.sandbox:
            raise DataKeyError("set PUHUI_DATA_KEYS and PUHUI_DATA_INDEX_KEY outside the sandbox")
        _write(path, {"keys": {"1": _new_key()}, "current": 1, "index_key": _new_key()})
    if path.stat().st_mode & 0o077:
        raise DataKeyError(f"{path} must be readable by its owner only (chmod 600)")
    doc = json.loads(path.read_text(encoding="utf-8"))
    return FieldKeyring.from_base64(doc["keys"], int(doc["current"]), doc["index_key"])


def add_data_key(settings: Settings) -> int:
    """Add a new key version to the key file and make it current (``puhui keys rotate-data``)."""
    path = _key_file(settings)
    doc = json.loads(path.read_text(encoding="utf-8"))
    version = max(int(v) for v in doc["keys"]) + 1
    doc["keys"][str(version)] = _new_key()
    doc["current"] = version
    _write(path, doc)
    return version


def _write(path: Path, doc: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(doc, fh)
    os.replace(tmp, path)


def install_keyring(ring: FieldKeyring) -> None:
    """Make ``ring`` the process's keyring (done once by create_app and the CLI)."""
    global _current
    _current = ring


def keyring() -> FieldKeyring:
    if _current is None:
        raise DataKeyError("the field-encryption keyring is not installed (create_app does it)")
    return _current
