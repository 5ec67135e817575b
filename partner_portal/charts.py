"""Charts as inline SVG built on the server: no chart library, no script, readable without CSS
(each chart has a title and a data table next to it on the page)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

__all__ = ["bar_chart"]


def bar_chart(
    title: str,
    points: Sequence[tuple[str, int]],
    *,
    width: int = 640,
    height: int = 180,
    css_class: str = "bar",
) -> Markup:
    """Vertical bars, one per point; the axis shows the first and last labels and the maximum."""
    left, bottom, top = 36, 22, 10
    plot_w, plot_h = width - left - 6, height - bottom - top
    peak = max((value for _, value in points), default=0) or 1
    step = plot_w / max(len(points), 1)
    bar_w = max(step * 0.7, 1.0)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line class="axis" x1="{left}" y1="{top + plot_h}" '
        f'x2="{width - 6}" y2="{top + plot_h}"/>',
        f'<text class="tick" x="{left - 4}" y="{top + 8}" text-anchor="end">{peak}</text>',
        f'<text class="tick" x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>',
    ]
    for i, (label, value) in enumerate(points):
        h = plot_h * value / peak
        x = left + i * step + (step - bar_w) / 2
        y = top + plot_h - h
        parts.append(
            f'<rect class="{escape(css_class)}" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
            f'height="{h:.1f}"><title>{escape(label)}: {value}</title></rect>'
        )
    if points:
        parts.append(
            f'<text class="tick" x="{left}" y="{height - 6}">{escape(points[0][0])}</text>'
        )
        parts.append(
            f'<text class="tick" x="{width - 6}" y="{height - 6}" text-anchor="end">'
            f"{escape(points[-1][0])}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above
