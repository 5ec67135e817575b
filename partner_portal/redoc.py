"""The interactive API reference: Litestar's ReDoc plugin, served from the pinned, self-hosted
bundle, with no inline script, so the page keeps ``script-src 'self'``.

Litestar's stock ``RedocRenderPlugin.render`` inlines the schema in a ``<script>Redoc.init(...)``
call, which the strict CSP forbids; ReDoc's bundle also initialises itself from a
``<redoc spec-url>`` element, which is what this page uses. ReDoc styles itself with
styled-components (``<style>`` elements it creates at run time), so this one page widens
``style-src`` to ``'unsafe-inline'``; scripts stay ``'self'`` only.
"""

from __future__ import annotations

from functools import cache
from html import escape
from typing import Any

from litestar import Request
from litestar.openapi.plugins import RedocRenderPlugin

from partner_portal.csp import widened_policy

__all__ = ["REDOC_JS", "SelfHostedRedoc", "redoc_policy"]

REDOC_VERSION = "2.5.4"
REDOC_JS = f"/static/vendor/redoc-{REDOC_VERSION}.standalone.js"
SPEC_URL = "/schema/openapi.json"


class SelfHostedRedoc(RedocRenderPlugin):
    """``RedocRenderPlugin`` with the vendored bundle and a CSP-clean page."""

    def __init__(self) -> None:
        super().__init__(
            version=REDOC_VERSION,
            js_url=REDOC_JS,
            google_fonts=False,
            path="/redoc",
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = escape(str(openapi_schema.get("info", {}).get("title", "API reference")))
        lang = "zh-CN" if request.cookies.get("puhui_lang") == "zh" else "en"
        return (
            "<!DOCTYPE html>\n"
            f'<html lang="{lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{title} · ReDoc</title>"
            '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
            "</head>"
            '<body><a href="/portal/reference">&larr; Puhui</a>'
            f'<redoc spec-url="{SPEC_URL}" disable-search="true" path-in-middle-panel="true" '
            'required-props-first="true" show-extensions="true"></redoc>'
            # After the element: the bundle initialises every <redoc> present when it runs.
            f'<script src="{escape(self.js_url)}"></script>'
            "</body></html>"
        ).encode()


@cache
def redoc_policy() -> str:
    """The pages' CSP with inline styles and inlined fonts admitted; scripts stay 'self' only."""
    # ReDoc's icon font is a data: URL.
    return widened_policy({"style-src": "'self' 'unsafe-inline'"}, add=("font-src 'self' data:",))
