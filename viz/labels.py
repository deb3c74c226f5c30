"""Labels placed without collisions: every label asked for goes to the first free place of its
candidates, in order of priority (higher first; then in the order asked), or is left out.

A place is free when the label's box (its text and an opaque backdrop around it) lies inside the
view (the screen less the panel, the banners and the caption), overlaps no label placed before
nor any mark (a site's diamond, a vertiport's ring, a bin), and, for a zone's name, lies inside
the zone. Contrast: every label sits on an opaque backdrop of the map's background colour and
is drawn in a light colour of its own kind (a zone's name in a light tint of its edge colour), so
no label is ever red on red. What is left out is kept in :attr:`LabelPlacer.left_out`.

Priorities (higher first): vertiports 3, sites 2, corridors 1, then the Gwangju basemap's district
and dong names (largest first), then the zones' names 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pygame
import shapely

PAD_X, PAD_Y = 3, 1  # the backdrop around a label's text
FRACTIONS = (0.5, 0.35, 0.65, 0.2, 0.8)  # along a line


@dataclass
class Ask:
    text: str
    colour: tuple[int, int, int]
    priority: int
    anchors: list[tuple[int, int]]
    inside: Any = None  # a shapely polygon (screen pixels) the label must lie in
    order: int = 0
    clear_px: int = 10  # how far from its anchor the label's box starts (clear of the mark there)


class LabelPlacer:
    """Collects labels for one frame, places them without overlap, draws them."""

    def __init__(self, screen: pygame.Surface, view: pygame.Rect, font: pygame.font.Font,
                 backdrop: tuple[int, int, int], cache: dict | None = None) -> None:
        self.screen, self.view, self.font, self.backdrop = screen, view, font, backdrop
        self.taken: list[pygame.Rect] = []  # boxes of labels placed (and titles, the basemap's names)
        self.marks: list[pygame.Rect] = []  # boxes of markers no label may cover
        self.soft: list[pygame.Rect] = []  # boxes labels avoid when they can (the basemap's names)
        self.placed: list[tuple[pygame.Surface, pygame.Rect]] = []
        self.left_out: list[str] = []
        self.placed_text: list[str] = []
        self._asks: list[Ask] = []
        self._rendered = cache if cache is not None else {}

    def ask(self, text: str, at: tuple[int, int] | None, colour: tuple[int, int, int], *, priority: int = 0,
            along: np.ndarray | None = None, inside: Any = None, clear_px: int = 10) -> None:
        """A label beside the point ``at`` (``clear_px`` away), or along the polyline ``along`` (pixels),
        or inside the polygon ``inside`` (near ``at``, else anywhere along its edge)."""
        anchors = [at] if at is not None else []
        if along is not None:
            anchors += _points_along(along)
        if inside is not None:
            for part in getattr(inside, "geoms", [inside]):
                anchors += _points_along(np.asarray(part.exterior.coords), FRACTIONS + (0.05, 0.95, 0.1, 0.9))
            point = inside.representative_point()
            anchors.append((int(point.x), int(point.y)))
        self._asks.append(Ask(text, colour, priority, anchors, inside, len(self._asks), clear_px))

    def _surface(self, text: str, colour: tuple[int, int, int]) -> pygame.Surface:
        key = (text, colour)
        if key not in self._rendered:
            self._rendered[key] = self.font.render(text, True, colour)
        return self._rendered[key]

    def place(self, at_least: int | None = None) -> None:
        """Place the labels asked for (highest priority first; only those of priority ``at_least`` or
        more when given, the rest wait for the next call); those with no free place are left out."""
        waiting = [a for a in self._asks if at_least is not None and a.priority < at_least]
        for ask in sorted((a for a in self._asks if a not in waiting), key=lambda a: (-a.priority, a.order)):
            surface = self._surface(ask.text, ask.colour)
            rect = self._free(surface.get_size(), ask)
            if rect is None:
                self.left_out.append(ask.text)
                continue
            self.taken.append(rect)
            self.placed.append((surface, rect))
            self.placed_text.append(ask.text)
        self._asks = waiting

    def _free(self, size: tuple[int, int], ask: Ask) -> pygame.Rect | None:
        w, h = size[0] + 2 * PAD_X, size[1] + 2 * PAD_Y
        c = ask.clear_px
        candidates = [pygame.Rect(left, top, w, h) for x, y in ask.anchors for left, top in (
            # right, left, above, below, then the four corners; centred last (a zone's name inside it)
            (x + c, y - h // 2), (x - c - w, y - h // 2), (x - w // 2, y - c - h), (x - w // 2, y + c),
            (x + c, y - h - 4), (x + c, y + 4), (x - c - w, y - h - 4), (x - c - w, y + 4), (x - w // 2, y - h // 2))]
        best, best_px2 = None, None
        for rect in candidates:  # the free place over the least of the basemap's names (the first, on a tie)
            if self._fits(rect, ask.inside):
                px2 = sum(rect.clip(self.soft[i]).width * rect.clip(self.soft[i]).height
                          for i in rect.collidelistall(self.soft))
                if best_px2 is None or px2 < best_px2:
                    best, best_px2 = rect, px2
                    if px2 == 0:
                        break
        if best is not None:
            return best
        if ask.inside is not None:  # a zone too small for its name: beside its edge
            return self._free(size, Ask(ask.text, ask.colour, ask.priority, ask.anchors, None, ask.order, ask.clear_px))
        return None

    def _fits(self, rect: pygame.Rect, inside: Any) -> bool:
        if not self.view.contains(rect) or rect.collidelist(self.taken) >= 0 or rect.collidelist(self.marks) >= 0:
            return False
        return inside is None or inside.contains(shapely.box(rect.left, rect.top, rect.right, rect.bottom))

    def draw(self) -> None:
        """The placed labels, each on its opaque backdrop."""
        for surface, rect in self.placed:
            pygame.draw.rect(self.screen, self.backdrop, rect)
            self.screen.blit(surface, (rect.left + PAD_X, rect.top + PAD_Y))


def _points_along(line: np.ndarray, fractions: tuple[float, ...] = FRACTIONS) -> list[tuple[int, int]]:
    """Points at fractions of a polyline's length (pixels)."""
    steps = np.hypot(*np.diff(line, axis=0).T)
    total = float(steps.sum())
    if total <= 0:
        return [(int(line[0][0]), int(line[0][1]))]
    cumulative = np.concatenate([[0.0], np.cumsum(steps)])
    found = []
    for fraction in fractions:
        at = fraction * total
        i = min(int(np.searchsorted(cumulative, at, side="right")) - 1, len(steps) - 1)
        u = (at - cumulative[i]) / max(steps[i], 1e-9)
        x, y = line[i] + u * (line[i + 1] - line[i])
        found.append((int(x), int(y)))
    return found


def overlap_px2(rects: list[pygame.Rect]) -> int:
    """The area two or more of ``rects`` share, pairwise summed (0: no two overlap)."""
    total = 0
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            clip = a.clip(b)
            total += clip.width * clip.height
    return total
