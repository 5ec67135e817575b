"""The interactive reference: Litestar's ReDoc plugin on the self-hosted bundle, under the CSP."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, ConsoleMessage, expect
from tests.e2e.conftest import LiveServer, new_page, shot


def test_redoc_renders_the_contract_with_api_ids_and_no_csp_violation(
    browser: Browser, live: LiveServer, screenshots: Path
) -> None:
    page = new_page(browser, live.url)
    problems: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.on("console", watch)
    requested: list[str] = []
    page.on("requestfinished", lambda r: requested.append(r.url))
    page.goto("/portal/reference")
    page.get_by_role("link", name="Interactive reference (ReDoc)").click()
    expect(page).to_have_url(f"{live.url}/portal/reference/redoc")
    # ReDoc fetched the contract and drew the operations, with the x-puhui-* extensions.
    expect(page.get_by_role("heading", name="Liveness probe")).to_be_visible()
    # Each operation shows its JR/T 0185 API id and level (ReDoc's show-extensions).
    expect(page.locator("body")).to_contain_text("puhui-api-id: OPPHBANK0199001")
    expect(page.locator("body")).to_contain_text("puhui-level: A1")
    shot(page, screenshots, "reference-redoc")
    # The one refusal allowed: ReDoc's "API docs by Redocly" footer logo from its CDN, which
    # img-src blocks in the browser (nothing is fetched). Scripts, styles and data are ours.
    refused = [p for p in problems if "Content Security Policy" in p]
    assert all("cdn.redoc.ly" in p and "img-src" in p for p in refused), refused
    assert not [p for p in problems if "404" in p], problems
    assert all(url.startswith(live.url) for url in requested), "no CDN: every asset fetched is ours"
    page.context.close()
