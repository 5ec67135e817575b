"""The pages' security headers as text, and one widening the CSP allows: a form whose answer
redirects to another site (the OAuth consent decision → the client's redirect_uri). Chromium
applies ``form-action`` to that redirect as well, so the page must name the target's origin."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from litestar import Response

from puhui.gateway.pipeline import SECURITY_HEADERS

__all__ = [
    "allow_form_targets",
    "form_action_policy",
    "page_security_headers",
    "widened_policy",
]

_CSP = "content-security-policy"


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def page_security_headers() -> dict[str, str]:
    """The pipeline's security headers (CSP and friends) as text, for pages answered here."""
    return {_text(name): _text(value) for name, value in SECURITY_HEADERS}


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        return None
    if any(ch in url for ch in " ;,'\"") or any(ord(ch) < 33 for ch in url):
        return None  # never let a URL add a directive or a source keyword
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def widened_policy(replace: Mapping[str, str], add: Iterable[str] = ()) -> str:
    """The pages' CSP with the named directives' sources replaced and ``add`` appended."""
    directives = []
    for directive in page_security_headers()[_CSP].split(";"):
        name = directive.strip().split(" ", 1)[0]
        if name in replace:
            directive = f" {name} {replace[name]}"
        directives.append(directive)
    directives.extend(f" {extra}" for extra in add)
    return ";".join(directives)


def form_action_policy(*targets: str) -> str:
    """The pages' CSP with ``form-action`` widened to the origins of ``targets``."""
    origins = sorted({o for o in map(_origin, targets) if o is not None})
    if not origins:
        return widened_policy({})
    return widened_policy({"form-action": f"'self' {' '.join(origins)}"})


def allow_form_targets(response: Response[Any], *targets: str) -> Response[Any]:
    """Send the widened CSP with this page (the gateway adds its own only when none is set)."""
    response.headers[_CSP] = form_action_policy(*targets)
    return response
