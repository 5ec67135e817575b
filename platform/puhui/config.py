"""Typed settings read from ``PUHUI_*`` environment variables, validated once and cached."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import msgspec

__all__ = ["Settings", "SettingsError", "get_settings", "load_settings"]

_BANK_CODE = re.compile(r"^[A-Z0-9]{6}$")
_NOTIFIER = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class SettingsError(ValueError):
    """A ``PUHUI_*`` variable has a value the platform cannot run with; the message names it."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the platform reads from its environment. Defaults run the embedded sandbox."""

    database_url: str = "sqlite+aiosqlite:///var/puhui.db"
    redis_url: str | None = None
    issuer: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    var_dir: Path = Path("var")
    key_dir: Path = Path("var/keys")
    sandbox: bool = True
    environment: Literal["development", "test", "production"] = "development"
    bank_code: str = "PHBANK"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True
    session_idle_seconds: int = 1800
    session_absolute_seconds: int = 12 * 3600
    login_max_failures: int = 5
    login_lockout_seconds: int = 900
    max_body_bytes: int = 1_048_576
    max_json_depth: int = 32
    secure_cookies: bool = False
    workers: int = 1
    # JR/T 0185 API security (gateway steps 6-8, 13)
    signature_skew_seconds: int = 300
    trusted_proxies: str = ""  # comma-separated CIDRs whose X-Forwarded-For is believed
    audit_retention_days: int = 190  # >= 6 months
    audit_flush_ms: int = 1  # longest a record waits for companions (group commit)
    audit_batch_size: int = 256
    # Customer one-time codes go out through this notifier: "sandbox" (inbox table + log, refused
    # in production) or "package.module:factory" naming a real puhui.notify.Notifier factory.
    notifier: str = "sandbox"
    consent_default_validity_days: int = 90
    consent_max_validity_days: int = 365
    # Loan servicing: the core-banking payment rail (the sandbox simulator by default).
    corebank_url: str = "http://127.0.0.1:8790"
    # Scheduled jobs (puhui.jobs): run in-process by every worker, one runner per job via a lease.
    jobs_enabled: bool = True
    jobs_tick_seconds: int = 30

    def __post_init__(self) -> None:
        scheme = urlsplit(self.database_url).scheme
        if scheme not in {"sqlite+aiosqlite", "postgresql+asyncpg"}:
            raise SettingsError(
                "PUHUI_DATABASE_URL must use sqlite+aiosqlite:// or postgresql+asyncpg:// "
                f"(got scheme {scheme!r})"
            )
        if self.redis_url is not None and urlsplit(self.redis_url).scheme not in {
            "redis",
            "rediss",
        }:
            raise SettingsError("PUHUI_REDIS_URL must be a redis:// or rediss:// URL")
        issuer = urlsplit(self.issuer)
        if issuer.scheme not in {"http", "https"} or not issuer.netloc or issuer.query:
            raise SettingsError("PUHUI_ISSUER must be an absolute http(s) URL without a query")
        if self.issuer.endswith("/"):
            raise SettingsError("PUHUI_ISSUER must not end with '/'")
        if not self.sandbox and issuer.scheme != "https":
            raise SettingsError("PUHUI_ISSUER must be https when PUHUI_SANDBOX is false")
        if not _BANK_CODE.match(self.bank_code):
            raise SettingsError("PUHUI_BANK_CODE must be 6 upper-case letters or digits")
        if not 1 <= self.port <= 65535:
            raise SettingsError("PUHUI_PORT must be between 1 and 65535")
        if self.notifier != "sandbox" and not _NOTIFIER.match(self.notifier):
            raise SettingsError("PUHUI_NOTIFIER must be 'sandbox' or 'package.module:factory'")
        if not 1 <= self.consent_max_validity_days <= 3650:
            raise SettingsError("PUHUI_CONSENT_MAX_VALIDITY_DAYS must be between 1 and 3650")
        if not 1 <= self.consent_default_validity_days <= self.consent_max_validity_days:
            raise SettingsError(
                "PUHUI_CONSENT_DEFAULT_VALIDITY_DAYS must be between 1 and "
                "PUHUI_CONSENT_MAX_VALIDITY_DAYS"
            )
        corebank = urlsplit(self.corebank_url)
        if corebank.scheme not in {"http", "https"} or not corebank.netloc:
            raise SettingsError("PUHUI_COREBANK_URL must be an absolute http(s) URL")
        loopback = corebank.hostname in {"127.0.0.1", "::1", "localhost"}
        if not self.sandbox and corebank.scheme != "https" and not loopback:
            raise SettingsError(
                "PUHUI_COREBANK_URL must be https (or loopback) when PUHUI_SANDBOX is false"
            )
        if self.audit_retention_days < 180:
            raise SettingsError("PUHUI_AUDIT_RETENTION_DAYS must be at least 180 (six months)")
        for name in (
            "session_idle_seconds",
            "session_absolute_seconds",
            "max_body_bytes",
            "signature_skew_seconds",
            "audit_flush_ms",
            "audit_batch_size",
            "jobs_tick_seconds",
        ):
            if getattr(self, name) <= 0:
                raise SettingsError(f"PUHUI_{name.upper()} must be positive")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        return Path(self.database_url.split(":///", 1)[1])


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Build settings from ``PUHUI_*`` variables (and explicit overrides), with clear errors."""
    env = os.environ if environ is None else environ
    raw: dict[str, object] = {}
    for field in msgspec.structs.fields(Settings):
        value = env.get(f"PUHUI_{field.name.upper()}")
        if value is not None and value != "":
            raw[field.name] = value
    raw.update(overrides)
    for field in msgspec.structs.fields(Settings):  # msgspec does not build Paths from strings
        if field.type is Path and isinstance(raw.get(field.name), str):
            raw[field.name] = Path(str(raw[field.name]))
    try:
        return msgspec.convert(raw, Settings, strict=False)
    except SettingsError:
        raise
    except msgspec.ValidationError as exc:
        # msgspec names the field as `$.field`; translate to the variable the operator sets.
        message = str(exc)
        match = re.search(r"\$\.(\w+)", message)
        if match is None:  # raised by Settings.__post_init__: already names the variable
            raise SettingsError(message) from None
        variable = f"PUHUI_{match.group(1).upper()}"
        raise SettingsError(f"{variable} is invalid: {message.split(' - at ')[0]}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
