"""OAuth protocol errors (RFC 6749 5.2 JSON bodies) and the form parsing of OAuth endpoints.

The OAuth endpoints answer in the protocol's own error format, which clients (authlib's among
them) parse; the platform's REST routes answer RFC 9457 problems.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from urllib.parse import parse_qsl

from litestar import Response

__all__ = ["FORM_TYPE", "OAuthError", "oauth_response", "parse_form"]

FORM_TYPE: Final = "application/x-www-form-urlencoded"
_MAX_FIELDS: Final = 64
_NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    """An OAuth error response: `error` code, description, status and extra headers."""

    def __init__(
        self,
        error: str,
        description: str,
        *,
        status: int = 400,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.headers = dict(headers or {})

    def response(self) -> Response[dict[str, str]]:
        return oauth_response(
            self.status,
            {"error": self.error, "error_description": self.description},
            self.headers,
        )


def oauth_response(
    status: int, body: Mapping[str, object], headers: Mapping[str, str] | None = None
) -> Response[dict[str, str]]:
    """A JSON response that is never cached (RFC 6749 5.1)."""
    return Response(
        content=dict(body),  # type: ignore[arg-type]
        status_code=status,
        media_type="application/json",
        headers={**_NO_STORE, **(headers or {})},
    )


def parse_form(content_type: str | None, body: bytes) -> list[tuple[str, str]]:
    """The form fields of an OAuth request, in order (repeats kept, for RFC 6749 3.1 checks)."""
    if (content_type or "").split(";")[0].strip().lower() != FORM_TYPE:
        raise OAuthError("invalid_request", f"send the parameters as {FORM_TYPE}")
    try:
        text = body.decode("utf-8")
        return parse_qsl(
            text, keep_blank_values=False, strict_parsing=False, max_num_fields=_MAX_FIELDS
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise OAuthError("invalid_request", "the form body is malformed") from exc
