"""The PDF rendering of a contract's HTML, by WeasyPrint (HTML + CSS → PDF; Pango lays out text).

The HTML is the contract: it is what the borrower confirms and what the evidence hashes. The PDF
is a rendering of exactly that HTML, sealed at signing with its own SHA-256. It is produced only
when it is faithful: WeasyPrint logs every glyph no installed font has (it would print as an
empty box), and one such glyph refuses the rendering — in practice a machine without a CJK font.

System packages (Debian): ``libpango-1.0-0`` and ``libpangoft2-1.0-0`` for WeasyPrint, and
``fonts-noto-cjk`` for the Chinese text. Without them :class:`PdfUnavailable` says why.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import logging
import threading
from types import ModuleType
from typing import Final

from puhui.errors import ProblemError, register_problem

__all__ = [
    "PDF_MEDIA_TYPE",
    "PDF_UNAVAILABLE",
    "PdfUnavailable",
    "pdf_renderer",
    "render_pdf",
]

PDF_MEDIA_TYPE: Final = "application/pdf"
PDF_UNAVAILABLE = register_problem(
    "contract-pdf-unavailable",
    "Contract PDF unavailable",
    503,
    "This server cannot render the contract faithfully as PDF; download the HTML, which is the "
    "signed document.",
)
# Print layout only: A4 pages, a CJK-capable font first, ruled tables, and a footer naming the
# hash of the HTML this PDF renders. The text itself is the HTML's, unchanged.
_PRINT_CSS: Final = """
@page {
  size: A4;
  margin: 18mm 16mm 20mm 16mm;
  @bottom-center {
    content: "HTML SHA-256 %s · " counter(page) " / " counter(pages);
    font-family: "Noto Sans CJK SC", sans-serif;
    font-size: 6.5pt;
    color: #555;
  }
}
body {
  font-family: "Noto Sans CJK SC", "Noto Serif CJK SC", "WenQuanYi Zen Hei", sans-serif;
  font-size: 10pt;
  line-height: 1.45;
}
h1 { font-size: 15pt; }
h2 { font-size: 11.5pt; margin-top: 12pt; }
table { border-collapse: collapse; width: 100%%; }
th, td { border: 0.5pt solid #777; padding: 2pt 4pt; text-align: left; vertical-align: top; }
tr { break-inside: avoid; }
"""
_NOTDEF: Final = ".notdef glyph"
# WeasyPrint and Pango are not documented as thread-safe: one rendering at a time.
_LOCK: Final = threading.Lock()


class PdfUnavailable(ProblemError):
    """The PDF cannot be produced faithfully here; the HTML remains the document."""

    problem = PDF_UNAVAILABLE


@functools.cache
def _weasyprint() -> ModuleType | str:
    """The weasyprint module, or why it cannot be loaded (its Pango libraries are missing)."""
    try:
        # Loads Pango through cffi: only once a PDF is asked for.
        return importlib.import_module("weasyprint")
    except (ImportError, OSError) as exc:
        return f"WeasyPrint cannot load ({type(exc).__name__}: {exc})"[:500]


def pdf_renderer() -> str | None:
    """``WeasyPrint <version>`` when PDF rendering is possible here, else None."""
    module = _weasyprint()
    return None if isinstance(module, str) else f"WeasyPrint {module.__version__}"


class _MissingGlyphs(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.glyphs: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith(_NOTDEF):
            self.glyphs.append(message)


def render_pdf(html: str) -> bytes:
    """The PDF of ``html``; raises :class:`PdfUnavailable` rather than print a wrong glyph.

    CPU-bound (hundreds of milliseconds): call it from a worker thread.
    """
    module = _weasyprint()
    if isinstance(module, str):
        raise PdfUnavailable(module)
    digest = hashlib.sha256(html.encode("utf-8")).hexdigest()
    missing = _MissingGlyphs()
    logger = logging.getLogger("weasyprint")
    with _LOCK:
        logger.addHandler(missing)
        try:
            # Contracts are self-contained: no protocol is allowed, nothing is ever fetched.
            offline = module.URLFetcher(allowed_protocols=frozenset())
            document = module.HTML(string=html, url_fetcher=offline)
            css = module.CSS(string=_PRINT_CSS % digest, url_fetcher=offline)
            pdf: bytes = document.write_pdf(stylesheets=[css])
        finally:
            logger.removeHandler(missing)
    if missing.glyphs:
        raise PdfUnavailable(
            f"{len(missing.glyphs)} character(s) have no glyph in the installed fonts (a CJK "
            "font such as Debian's fonts-noto-cjk is needed): the PDF would not be faithful"
        )
    return pdf
