"""The contract PDF: faithful (every glyph from a real font) and repeatable, or refused."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from puhui.servicing.pdf import PdfUnavailable, pdf_renderer, render_pdf

ROOT = Path(__file__).resolve().parents[3]
HTML = (
    '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>合同</title></head>'
    "<body><h1>小微企业经营贷款合同 SME Loan Contract</h1><table><tr><th>借款金额 Amount</th>"
    "<td>¥12,000.00</td></tr></table><p>逾期罚息 penalty interest</p></body></html>"
)


def _renders_here() -> bool:
    try:
        render_pdf(HTML)
    except PdfUnavailable:
        return False
    return True


# A machine without Pango or a CJK font cannot render the contract (CI installs both and sets
# PUHUI_REQUIRE_PDF=1, which turns this skip into a failure).
needs_pdf = pytest.mark.skipif(
    os.environ.get("PUHUI_REQUIRE_PDF") != "1" and not _renders_here(),
    reason="no Pango or no CJK font here: contract PDFs are refused with a problem",
)


@needs_pdf
def test_the_pdf_renders_the_chinese_text_and_is_the_same_every_time() -> None:
    assert (pdf_renderer() or "").startswith("WeasyPrint ")
    first = render_pdf(HTML)
    assert first.startswith(b"%PDF-")
    assert render_pdf(HTML) == first  # byte-identical: its hash can be sealed


@needs_pdf
def test_a_document_never_fetches_anything() -> None:
    # A remote stylesheet or image would make the rendering depend on someone else's server.
    pdf = render_pdf(
        HTML.replace("</head>", '<link rel="stylesheet" href="http://127.0.0.1:9/x.css"></head>')
    )
    assert pdf.startswith(b"%PDF-")


def test_without_a_font_for_the_text_the_pdf_is_refused(tmp_path: Path) -> None:
    """Fontconfig sees a Latin font only (a machine without fonts-noto-cjk): no PDF."""
    latin = sorted(Path("/usr/share/fonts").glob("**/DejaVuSans.ttf"))
    assert latin, "fontconfig's own dependency fonts-dejavu-core is missing"
    empty = tmp_path / "fonts"
    empty.mkdir()
    (empty / latin[0].name).write_bytes(latin[0].read_bytes())
    config = tmp_path / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f"<dir>{empty}</dir><cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>",
        encoding="utf-8",
    )
    script = textwrap.dedent(
        f"""
        from puhui.servicing.pdf import PdfUnavailable, render_pdf
        try:
            render_pdf({HTML!r})
        except PdfUnavailable as exc:
            print("REFUSED", exc.kind.status, exc.detail)
        else:
            print("RENDERED")
        """
    )
    env = {**os.environ, "FONTCONFIG_FILE": str(config), "PYTHONPATH": str(ROOT / "platform")}
    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("REFUSED 503"), done.stdout
    assert "no glyph" in done.stdout


def test_an_unloadable_renderer_is_a_problem_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    import puhui.servicing.pdf as pdf

    monkeypatch.setattr(pdf, "_weasyprint", lambda: "WeasyPrint cannot load (OSError: pango)")
    assert pdf.pdf_renderer() is None
    with pytest.raises(PdfUnavailable) as refused:
        pdf.render_pdf(HTML)
    assert refused.value.kind.status == 503
    assert "pango" in refused.value.detail
