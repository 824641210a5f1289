"""Server-rendered SVG charts."""

import math
from dataclasses import dataclass

# Colours chosen to stay distinguishable for common colour-vision deficiencies
# (Okabe-Ito), each paired with a pattern so that no slice relies on colour.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
PATTERNS = ("solid", "stripes", "dots", "cross", "solid", "stripes", "dots", "cross")


@dataclass(frozen=True)
class PieSlice:
    label: str
    count: int
    percent: float
    path: str
    color: str
    pattern: str
    index: int
    label_x: float
    label_y: float


def pie_slices(items: list[tuple[str, int]], radius: float = 90.0, center: float = 100.0) -> list[PieSlice]:
    """
    Lay out ``(label, count)`` items as SVG pie slices (paths in a 200×200 box).
    Slices beyond the palette share the last colours; a single item is a full circle.
    """
    total = sum(count for _, count in items)
    if total == 0:
        return []
    slices = []
    angle = -math.pi / 2
    for index, (label, count) in enumerate(items):
        sweep = 2 * math.pi * count / total
        end = angle + sweep
        if count == total:
            path = f"M {center} {center - radius} A {radius} {radius} 0 1 1 {center - 0.01} {center - radius} Z"
        else:
            x1, y1 = center + radius * math.cos(angle), center + radius * math.sin(angle)
            x2, y2 = center + radius * math.cos(end), center + radius * math.sin(end)
            large = 1 if sweep > math.pi else 0
            path = f"M {center} {center} L {x1:.2f} {y1:.2f} A {radius} {radius} 0 {large} 1 {x2:.2f} {y2:.2f} Z"
        mid = angle + sweep / 2
        slices.append(
            PieSlice(
                label=label,
                count=count,
                percent=100.0 * count / total,
                path=path,
                color=PALETTE[min(index, len(PALETTE) - 1)],
                pattern=PATTERNS[min(index, len(PATTERNS) - 1)],
                index=index,
                label_x=round(center + radius * 0.62 * math.cos(mid), 2),
                label_y=round(center + radius * 0.62 * math.sin(mid), 2),
            )
        )
        angle = end
    return slices
