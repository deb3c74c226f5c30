"""The engineers' panel on the right: the place and the clock, each service's headline figures
(labelled by its plug-in's KPI metadata), one chart per kind of series the services declare (a
line per service), and a legend of what is drawn."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pygame
from gwangju_twin.plugins import Kpi, ServiceView, kpi_meta
from gwangju_twin.viz.scene import EMPTY_STATE, ZONE_EDGE, ZONE_LEGEND, ZONE_OTHER, Scene

if TYPE_CHECKING:
    from gwangju_twin.viz.app import Viewer

PANEL_W = 380
CHART_POINTS = 240
CHART_H = 30
CHART_H_HALL = 64  # the exhibition's panel has no figures list: taller charts
TEXT = (235, 235, 240)


def shown(value: Any, kpi: Kpi | None = None, spec: str = "g") -> str:
    """A KPI as the panel prints it: a figure without data says so rather than showing 0."""
    if value is None:
        return "no data"
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return str(value)
    if kpi is not None and kpi.percent:
        return f"{100 * value:.0f} %"
    unit = "" if kpi is None or kpi.unit in ("1", "count") else (" %" if kpi.unit == "%" else f" {kpi.unit}")
    return f"{format(value, spec)}{unit}"


class Series:
    """The services' charts, sampled as the simulated day goes: by chart title, a line per service."""

    def __init__(self, views: Sequence[ServiceView]) -> None:
        self.charts: dict[str, dict[str, tuple[Any, deque]]] = {}
        self.samples = 0
        for view in views:
            for chart in view.charts:
                title = f"{chart.title_ko} · {chart.title_en} ({chart.unit})"
                self.charts.setdefault(title, {})[view.service_id] = (chart, deque(maxlen=CHART_POINTS))

    def sample(self) -> None:
        self.samples += 1
        for lines in self.charts.values():
            for chart, values in lines.values():
                value = chart.value()
                if value is not None:
                    values.append(float(value))


def draw_panel(viewer: Viewer) -> None:
    """The panel: opaque, so the map under it never shows through; drawn again only when what it
    shows changed (the figures, the clock's minute, a chart sample), else blitted from the last."""
    screen = viewer.screen
    width, height = screen.get_size()
    area = pygame.Rect(width - PANEL_W, 0, PANEL_W, height)
    key = (viewer._kpis[0], viewer.clock_text(), viewer.series.samples, screen.get_size(), id(viewer.model))
    cached = viewer.panel_cache
    if cached is not None and cached[0] == key:
        screen.blit(cached[1], area)
        return
    _draw_panel(viewer, screen, width, height)
    viewer.panel_cache = (key, screen.subsurface(area).copy())


def _draw_panel(viewer: Viewer, screen: pygame.Surface, width: int, height: int) -> None:
    pygame.draw.rect(screen, (10, 12, 18), pygame.Rect(width - PANEL_W, 0, PANEL_W, height))
    x, y = width - PANEL_W + 14, 12
    y += viewer._text(viewer.place_title(), (x, y), "title") + 4
    y += viewer._text(viewer.clock_text(), (x, y)) + 8
    services = {s.id: s for s in viewer.model.services}
    kpis = viewer.kpis()
    rows = []
    for view in viewer.scene.views:
        service = services[view.service_id]
        figures = kpis.get(view.service_id, {})
        values = [(key, figures[key], kpi_meta(service.kind).get(key)) for key in view.headline_kpis if key in figures]
        colour = next(iter(view.movers.values())).colour if view.movers else (255, 210, 90)
        rows.append((view.service_id, values, colour, bool(view.movers)))
    legend_h = 26 + 18 * ((len(legend_rows(viewer.scene)) + 1) // 2)
    charts_h = ((len(viewer.series.charts) + 1) // 2) * (_chart_h(viewer) + 20)
    compact = sum(1 + len(values) for _, values, _, _ in rows) * 17 > height - y - legend_h - charts_h - 20
    if viewer.exhibit:  # for visitors: the big numbers on the map, charts and legend here, no engineering list
        rows, compact = [], True
    for service_id, values, colour, marked in rows:
        if marked:
            pygame.draw.circle(screen, colour, (x - 6, y + 9), 4)
        if compact:  # a whole-testbed scenario: one line a service, its first figure on the right
            h = viewer._text(service_id, (x, y), "small", colour)
            if values:
                key, value, kpi = values[0]
                figure = f"{kpi.label_en if kpi else key} {shown(value, kpi, '.3g')}"
                viewer._text(figure, (width - 14 - viewer.fonts["small"].size(figure)[0], y), "small")
            y += h + 1
            continue
        y += viewer._text(service_id, (x, y), "normal", colour)
        for key, value, kpi in values:
            y += viewer._text(f"  {kpi.label_en if kpi else key}: {shown(value, kpi)}", (x, y), "small")
        y += 4
    y = draw_charts(viewer, x, y + 4, height - legend_h - 8)
    viewer.legend_top_px = max(y + 6, height - legend_h)
    draw_legend(viewer, x, viewer.legend_top_px)


def draw_charts(viewer: Viewer, x: int, y: int, bottom: int) -> int:
    """The charts two to a row, each with a line per service (in its agents' colour)."""
    colours = {view.service_id: next(iter(view.movers.values())).colour if view.movers else (120, 200, 255)
               for view in viewer.scene.views}
    w, chart_h = (PANEL_W - 28 - 8) // 2, _chart_h(viewer)
    for i, (title, lines) in enumerate(viewer.series.charts.items()):
        left, top = x + (i % 2) * (w + 8), y + (i // 2) * (chart_h + 20)
        if top + chart_h + 20 > bottom:
            break
        latest = [values[-1] for _, values in lines.values() if values]
        unit = next(iter(lines.values()))[0].unit
        total = (sum(latest) / len(latest) if unit == "%" else sum(latest)) if latest else None  # a share: the mean
        name = title.split(" · ")[0] if viewer.fonts["small"].size(title)[0] > w else title.split(" (")[0]
        viewer._text(name if total is None else f"{name} {total:.3g}{' %' if unit == '%' else ''}", (left, top), "small")
        rect = pygame.Rect(left, top + 17, w, chart_h)
        pygame.draw.rect(viewer.screen, (40, 44, 56), rect)
        series = [values for _, values in lines.values()]
        low = min((min(v) for v in series if v), default=0.0)
        high = max((max(v) for v in series if v), default=1.0)
        span = (high - low) or 1.0
        for service_id, (_, values) in lines.items():
            if len(values) >= 2:
                step = rect.width / (max(len(v) for v in series) - 1)  # the samples so far span the chart
                points = [(rect.left + j * step, rect.bottom - (v - low) / span * rect.height)
                          for j, v in enumerate(values)]
                pygame.draw.lines(viewer.screen, colours.get(service_id, (120, 200, 255)), False, points, 2)
    return y + ((len(viewer.series.charts) + 1) // 2) * (chart_h + 20)


def _chart_h(viewer: Viewer) -> int:
    return CHART_H_HALL if viewer.exhibit else CHART_H


def legend_rows(scene: Scene) -> list[tuple[str, tuple[int, int, int], tuple[int, int, int] | None, str]]:
    """What is drawn, one row each: (shape, colour, core, text), for the kinds of agent shown, their
    states, the services' layers and the zones in the scene."""
    kinds, states, layers = {}, {}, {}
    for view in scene.views:
        for mover in view.movers.values():
            kinds.setdefault((mover.colour, mover.legend_en), ("disc", mover.colour, None, f"{mover.legend_ko} · {mover.legend_en}"))
            if mover.state_en:
                core = mover.core or EMPTY_STATE
                states.setdefault(core, ("core", (90, 94, 106), core, f"{mover.state_ko} · {mover.state_en}"))
        for layer in view.layers():
            if layer.legend_en:
                shape = "line" if layer.kind == "lines" else "square"
                layers.setdefault(layer.legend_en, (shape, layer.colour, None, f"{layer.legend_ko} · {layer.legend_en}"))
    rows = [*kinds.values(), *states.values(), *layers.values()]
    for kind in dict.fromkeys(kind for kind, _, _ in scene.zones):
        en, ko = ZONE_LEGEND.get(kind, ZONE_OTHER[3])
        rows.append(("zone", ZONE_EDGE.get(kind, ZONE_OTHER[1]), None, f"{ko} · {en}"))
    return rows


def draw_legend(viewer: Viewer, x: int, y: int) -> None:
    """The legend in two columns: one row per thing drawn, never two labels run together."""
    rows = legend_rows(viewer.scene)
    column_w = (PANEL_W - 28) // 2
    for i, (shape, colour, core, text) in enumerate(rows):
        left, top = x + (i % 2) * column_w, y + (i // 2) * 18
        centre = (left + 6, top + 8)
        if shape == "disc":
            pygame.draw.circle(viewer.screen, colour, centre, 6)
        elif shape == "core":
            pygame.draw.circle(viewer.screen, colour, centre, 6)
            pygame.draw.circle(viewer.screen, core, centre, 3)
        elif shape == "line":
            pygame.draw.line(viewer.screen, colour, (left, top + 8), (left + 12, top + 8), 3)
        else:
            pygame.draw.rect(viewer.screen, colour, pygame.Rect(left + 1, top + 3, 10, 10), 0 if shape == "square" else 2)
        label = viewer.fonts["small"].render(text, True, TEXT)
        if label.get_width() > column_w - 20:
            label = pygame.transform.smoothscale(label, (column_w - 20, label.get_height()))
        viewer.screen.blit(label, (left + 16, top))
    if not viewer.exhibit:
        viewer._text("H: help", (x, y + 18 * ((len(rows) + 1) // 2) + 2), "small", (160, 160, 170))



TILE_W, TILE_H = 250, 92
MAX_TILES = 3


def tile_figures(viewer: Viewer) -> list[tuple[str, str, tuple[int, int, int]]]:
    """The big numbers of the scene the caption describes: its service's first figures (as many as
    its view asks), then the first figure of other kinds of service, up to three; each as
    (number, "Korean · English" label, the service's colour). Figures without data are left out."""
    from gwangju_twin.viz.captions import caption_at

    shown = caption_at(viewer.scene.views, viewer.wall_s)
    if shown is None:
        return []
    services = {s.id: s for s in viewer.model.services}
    kpis = viewer.kpis()
    order = [(shown[2], max(shown[2].tiles, 1))] + [(v, 1) for v in viewer.scene.views if v is not shown[2]]
    tiles, kinds = [], set()
    for view, n in order:
        service = services[view.service_id]
        if service.kind in kinds and view is not shown[2]:
            continue
        for key in view.headline_kpis[:n]:
            value, kpi = kpis.get(view.service_id, {}).get(key), kpi_meta(service.kind).get(key)
            if value is None or kpi is None or len(tiles) >= MAX_TILES:
                continue
            colour = next(iter(view.movers.values())).colour if view.movers else (255, 210, 90)
            tiles.append((big_number(value, kpi), f"{kpi.label_ko} · {kpi.label_en}", colour))
            kinds.add(service.kind)
    return tiles


def big_number(value: float, kpi: Kpi) -> str:
    """A figure for visitors: a share as a whole percentage, a count whole, else three digits and the unit."""
    if kpi.percent:
        return f"{100 * value:.0f} %"
    if kpi.unit == "%":
        return f"{value:.0f} %"
    if kpi.unit == "count":
        return f"{value:,.0f}"
    return f"{value:.3g} {kpi.unit}"


def draw_tiles(viewer: Viewer) -> None:
    """Two or three large bilingual numbers above the caption, for the hall."""
    screen, fonts = viewer.screen, viewer.fonts
    height = screen.get_height()
    top = height - viewer._caption_h() - 16 - TILE_H - 8
    for i, (number, label, colour) in enumerate(tile_figures(viewer)):
        box = pygame.Rect(8 + i * (TILE_W + 10), top, TILE_W, TILE_H)
        pygame.draw.rect(screen, (10, 12, 18), box, border_radius=8)
        pygame.draw.rect(screen, colour, pygame.Rect(box.left, box.top, 6, box.height), border_top_left_radius=8,
                         border_bottom_left_radius=8)
        text = fonts["big"].render(number, True, (255, 255, 255))
        screen.blit(text, (box.left + 18, box.top + 6))
        name = fonts["normal"].render(label, True, (210, 220, 235))
        if name.get_width() > TILE_W - 26:
            name = pygame.transform.smoothscale(name, (TILE_W - 26, name.get_height()))
        screen.blit(name, (box.left + 18, box.bottom - name.get_height() - 10))
