"""Fetching a client's JWKS from its `jwks_uri` through the platform's one outbound client."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from puhui.oauth.client_assertion import JWKSUnavailable
from puhui.outbound import OutboundClient, RetryPolicy, UpstreamError

__all__ = ["OutboundJWKSFetcher"]

_MAX_JWKS_BYTES: Final = 64 * 1024


class OutboundJWKSFetcher:
    """`JWKSFetcher`: GET the document (https only outside the sandbox), bounded in size."""

    def __init__(self, *, allow_http: bool) -> None:
        self._allow_http = allow_http

    async def fetch(self, jwks_uri: str) -> Mapping[str, Any]:
        parts = urlsplit(jwks_uri)
        if parts.scheme != "https" and not (self._allow_http and parts.scheme == "http"):
            raise JWKSUnavailable("jwks_uri must be https")
        base = f"{parts.scheme}://{parts.netloc}"
        path = parts.path or "/"
        if parts.query:
            path = f"{path}?{parts.query}"
        try:
            async with OutboundClient(
                upstream=f"jwks:{parts.netloc}",
                base_url=base,
                timeout_s=3.0,
                retry=RetryPolicy(attempts=2),
            ) as client:
                response = await client.get(path)
        except UpstreamError as exc:
            raise JWKSUnavailable(str(exc)) from exc
        if len(response.content) > _MAX_JWKS_BYTES:
            raise JWKSUnavailable("JWKS document is too large")
        try:
            document = json.loads(response.content)
        except ValueError as exc:
            raise JWKSUnavailable("JWKS document is not JSON") from exc
        if not isinstance(document, dict):
            raise JWKSUnavailable("JWKS document is not a JSON object")
        return document
