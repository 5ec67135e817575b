"""Self-contained SVG charts for the validation report: lines (ROC, KS), bars and histograms.

Hand-made SVG keeps the report one file with no script, no network and no plotting dependency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["Series", "bar_chart", "histogram", "line_chart"]

_WIDTH: Final = 520
_HEIGHT: Final = 320
_LEFT: Final = 56
_RIGHT: Final = 16
_TOP: Final = 34
_BOTTOM: Final = 46
_MAX_POINTS: Final = 400
PALETTE: Final = ("#1f5fa8", "#d0562c", "#3a8f4b", "#7a4fa0")


@dataclass(frozen=True, slots=True)
class Series:
    """A named line of (x, y) points."""

    name: str
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]


def _frame(title: str, body: list[str], x_label: str, y_label: str) -> str:
    middle = _TOP + (_HEIGHT - _TOP - _BOTTOM) / 2
    return "".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {_HEIGHT}" '
            f'width="{_WIDTH}" height="{_HEIGHT}" role="img" aria-label="{escape(title)}">',
            f'<text x="{_WIDTH / 2}" y="20" text-anchor="middle" font-size="14" '
            f'font-weight="bold">{escape(title)}</text>',
            *body,
            f'<text x="{_LEFT + (_WIDTH - _LEFT - _RIGHT) / 2}" y="{_HEIGHT - 8}" '
            f'text-anchor="middle" font-size="12">{escape(x_label)}</text>',
            f'<text x="14" y="{middle}" font-size="12" '
            f'text-anchor="middle" transform="rotate(-90 14 {middle})">'
            f"{escape(y_label)}</text>",
            "</svg>",
        ]
    )


def _axes(x_range: tuple[float, float], y_range: tuple[float, float]) -> list[str]:
    plot_w, plot_h = _WIDTH - _LEFT - _RIGHT, _HEIGHT - _TOP - _BOTTOM
    parts = [
        f'<rect x="{_LEFT}" y="{_TOP}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="#888"/>'
    ]
    for tick in np.linspace(0.0, 1.0, 6):
        x = _LEFT + tick * plot_w
        y = _TOP + plot_h - tick * plot_h
        x_value = x_range[0] + tick * (x_range[1] - x_range[0])
        y_value = y_range[0] + tick * (y_range[1] - y_range[0])
        parts.append(
            f'<text x="{x:.1f}" y="{_TOP + plot_h + 16}" font-size="10" '
            f'text-anchor="middle">{_tick(x_value)}</text>'
        )
        parts.append(
            f'<text x="{_LEFT - 6}" y="{y + 3:.1f}" font-size="10" '
            f'text-anchor="end">{_tick(y_value)}</text>'
        )
        parts.append(
            f'<line x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
        )
    return parts


def _tick(value: float) -> str:
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.0f}"


def _project(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    x_range: tuple[float, float],
    y_range: tuple[float, float],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    plot_w, plot_h = _WIDTH - _LEFT - _RIGHT, _HEIGHT - _TOP - _BOTTOM
    x_span = (x_range[1] - x_range[0]) or 1.0
    y_span = (y_range[1] - y_range[0]) or 1.0
    px = _LEFT + (x - x_range[0]) / x_span * plot_w
    py = _TOP + plot_h - (y - y_range[0]) / y_span * plot_h
    return px, py


def _legend(names: Sequence[str]) -> list[str]:
    parts: list[str] = []
    for position, name in enumerate(names):
        y = _TOP + 14 + 16 * position
        colour = PALETTE[position % len(PALETTE)]
        parts.append(
            f'<rect x="{_LEFT + 10}" y="{y - 9}" width="12" height="4" fill="{colour}"/>'
            f'<text x="{_LEFT + 28}" y="{y - 4}" font-size="11">{escape(name)}</text>'
        )
    return parts


def line_chart(
    title: str,
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    diagonal: bool = False,
) -> str:
    """Lines on shared axes; `diagonal` adds the y = x reference of a random model."""
    xs = np.concatenate([s.x for s in series])
    ys = np.concatenate([s.y for s in series])
    x_range = (float(xs.min()), float(xs.max()))
    y_range = (min(0.0, float(ys.min())), max(1.0, float(ys.max())))
    body = _axes(x_range, y_range)
    if diagonal:
        px, py = _project(np.array(x_range), np.array(y_range), x_range, y_range)
        body.append(
            f'<line x1="{px[0]:.1f}" y1="{py[0]:.1f}" x2="{px[1]:.1f}" y2="{py[1]:.1f}" '
            'stroke="#aaa" stroke-dasharray="4 3"/>'
        )
    for position, line in enumerate(series):
        step = max(1, line.x.shape[0] // _MAX_POINTS)
        keep = np.r_[np.arange(0, line.x.shape[0], step), line.x.shape[0] - 1]
        px, py = _project(line.x[keep], line.y[keep], x_range, y_range)
        points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py, strict=True))
        colour = PALETTE[position % len(PALETTE)]
        body.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
    body.extend(_legend([s.name for s in series]))
    return _frame(title, body, x_label, y_label)


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    x_label: str,
    y_label: str,
    value_format: str = "{:.3f}",
) -> str:
    """Vertical bars, one per label, each with its value written above it."""
    plot_w, plot_h = _WIDTH - _LEFT - _RIGHT, _HEIGHT - _TOP - _BOTTOM
    top = max([*values, 1e-9]) * 1.15
    body = _axes((0.0, 1.0), (0.0, top))
    # The generic x ticks mean nothing for categories: drop them, keep the y ticks.
    body = [part for part in body if 'text-anchor="middle"' not in part]
    width = plot_w / max(len(labels), 1)
    for position, (label, value) in enumerate(zip(labels, values, strict=True)):
        height = value / top * plot_h
        x = _LEFT + position * width
        body.append(
            f'<rect x="{x + width * 0.15:.1f}" y="{_TOP + plot_h - height:.1f}" '
            f'width="{width * 0.7:.1f}" height="{height:.1f}" fill="{PALETTE[0]}">'
            f"<title>{escape(label)}: {value_format.format(value)}</title></rect>"
        )
        body.append(
            f'<text x="{x + width / 2:.1f}" y="{_TOP + plot_h - height - 3:.1f}" font-size="9" '
            f'text-anchor="middle">{escape(value_format.format(value))}</text>'
        )
        short = label if len(label) <= 14 else label[:13] + "…"
        body.append(
            f'<text x="{x + width / 2:.1f}" y="{_TOP + plot_h + 14}" font-size="9" '
            f'text-anchor="middle">{escape(short)}</text>'
        )
    return _frame(title, body, x_label, y_label)


def histogram(
    title: str,
    groups: Sequence[tuple[str, npt.NDArray[np.float64]]],
    *,
    bins: int = 30,
    x_label: str,
    y_label: str = "share of group",
) -> str:
    """Overlaid step histograms, each normalised to its own group size."""
    everything = np.concatenate([values for _, values in groups])
    edges = np.linspace(float(everything.min()), float(everything.max()) + 1e-9, bins + 1)
    shares = []
    for _, values in groups:
        counts, _ = np.histogram(values, bins=edges)
        shares.append(counts / max(values.shape[0], 1))
    series = []
    for (name, _), share in zip(groups, shares, strict=True):
        x = np.repeat(edges, 2)[1:-1]
        y = np.repeat(share, 2).astype(np.float64)
        series.append(Series(name, x, y))
    x_range = (float(edges[0]), float(edges[-1]))
    y_top = float(max(share.max() for share in shares)) * 1.1 or 1.0
    body = _axes(x_range, (0.0, y_top))
    for position, line in enumerate(series):
        px, py = _project(line.x, line.y, x_range, (0.0, y_top))
        points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py, strict=True))
        colour = PALETTE[position % len(PALETTE)]
        body.append(
            f'<polyline points="{points}" fill="{colour}" fill-opacity="0.15" '
            f'stroke="{colour}" stroke-width="1.5"/>'
        )
    body.extend(_legend([name for name, _ in groups]))
    return _frame(title, body, x_label, y_label)
