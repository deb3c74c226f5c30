"""The visualiser's window: a live model drawn at up to 60 frames a second.

Keys: space pause/play, +/- speed (1x to 1000x), . single step, wheel zoom, drag pan, click an
agent to follow it, 1-9 toggle layers, F fullscreen, P screenshot, H help, Esc quit. Exhibition
mode plays fullscreen on a loop, touring the sites of interest, with no input needed.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402
from gwangju_twin.model import TwinModel  # noqa: E402
from gwangju_twin.viz.camera import Camera  # noqa: E402
from gwangju_twin.viz.captions import caption_at  # noqa: E402
from gwangju_twin.viz.fonts import hangul_font_path  # noqa: E402
from gwangju_twin.viz.scene import KIND_COLOUR, LAYERS, STATE_COLOUR, Marker, Scene  # noqa: E402

SPEEDS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1000)
PANEL_W = 380
CHART_POINTS = 240
KPI_REFRESH_S = 1.0  # the panel's figures are at most this old (wall time)
TOUR_S = 15.0
GLIDE_S = 3.0  # wall seconds a tour's camera move takes
HELP = ["space  pause / play", "+ / -  speed 1x ... 1000x", ".      one step", "wheel  zoom", "drag   pan",
        "click  follow an agent", "1-9    layers: " + ", ".join(LAYERS), "F      fullscreen", "P      screenshot",
        "H      this help", "Esc    quit"]
HEADLINES = {
    "cleaning": ("coverage_pct", "km_swept", "deadhead_km"),
    "waste": ("kg_collected", "overflow_events", "tours"),
    "on_demand": ("requests", "served", "rejected", "wait_mean_s", "occupancy_mean"),
    "loop": ("loops_completed", "vehicle_km"),
    "certification": ("parts_shipped", "certified", "wip", "lead_time_all_mean_d", "retest_rate"),
    "drones": ("deliveries", "on_time_rate", "conflicts_resolved", "losses_of_separation", "holding_h"),
}
SERVICE_KIND = {"cleaning": "sweeper", "waste": "collector", "on_demand": "shuttle", "loop": "shuttle",
                "drones": "drone", "certification": "part"}
OPERATIONS = ("disengagements", "operator_utilisation", "charge_sessions", "min_battery_kwh")
SERIES = {"served requests": ("on_demand", "served"), "kg collected": ("waste", "kg_collected"),
          "coverage %": ("sweepers", "coverage_pct"), "parts in work": ("certification", "wip")}


class Viewer:
    """One window showing one model (replaced by a fresh one each exhibition loop)."""

    def __init__(self, make_model: Callable[[int], TwinModel], *, size: tuple[int, int] = (1600, 900),
                 exhibit: bool = False, speed: float = 60.0, record: Path | None = None,
                 screenshots: Path = Path("screenshots"), overlay: bool | None = None,
                 fullscreen: bool | None = None) -> None:
        pygame.init()
        self.make_model, self.loop = make_model, 0
        self.model = make_model(self.loop)
        self.model.tracks.enabled = False  # a window keeps no history it does not draw
        self.exhibit, self.record, self.screenshots = exhibit, record, screenshots
        self.overlay = exhibit if overlay is None else overlay  # captions for visitors (exhibition, video)
        self.wall_s = 0.0  # wall time of the show, for the captions
        full = exhibit if fullscreen is None else fullscreen
        self.screen = pygame.display.set_mode((0, 0) if full else size, pygame.FULLSCREEN if full else pygame.RESIZABLE)
        stand_in = ", ".join(f"{used} 지도가 {ref} 대신 · map of {used} stands in for {ref}"
                             for ref, used in self.model.stand_in.items())
        pygame.display.set_caption(f"Gwangju twin · {self.model.scenario.name}" + (f" · {stand_in}" if stand_in else ""))
        self.fonts = {"small": pygame.font.Font(str(hangul_font_path()), 14),
                      "normal": pygame.font.Font(str(hangul_font_path()), 17),
                      "title": pygame.font.Font(str(hangul_font_path("Bold")), 22)}
        self.camera = Camera(*self.screen.get_size())
        self.scene = Scene(self.model, self.fonts)
        self.scene.right_px = PANEL_W
        self._fit()
        self.speed = speed
        self.paused = False
        self.help = False
        self.following: Marker | None = None
        self.series = {name: deque(maxlen=CHART_POINTS) for name in SERIES}
        self._last_sample_s = -1e9
        self._kpis: tuple[float, TwinModel | None, dict] = (-1e9, None, {})
        self._drag: tuple[int, int] | None = None
        self._tour_index, self._tour_clock = 0, 0.0
        self.frames = 0
        self.clock = pygame.time.Clock()

    # --- main loop ------------------------------------------------------------------------
    def run(self, max_frames: int | None = None, last_frame: Path | None = None) -> None:
        running = True
        while running and (max_frames is None or self.frames < max_frames):
            dt_s = self.clock.tick(60) / 1000.0
            running = self._events()
            self.advance(dt_s)
            self.render()
            pygame.display.flip()
            if self.record is not None:
                self.record.mkdir(parents=True, exist_ok=True)
                pygame.image.save(self.screen, str(self.record / f"frame_{self.frames:06d}.png"))
            self.frames += 1
        if last_frame is not None:
            last_frame.parent.mkdir(parents=True, exist_ok=True)
            pygame.image.save(self.screen, str(last_frame))
        pygame.quit()

    def advance(self, dt_s: float) -> None:
        if not self.paused:
            self.model.run_until(self.model.now_s + dt_s * self.speed)
        if self.model.finished and self.exhibit:
            self.loop += 1
            self.model.close()
            self.model = self.make_model(self.loop)
            self.model.tracks.enabled = False
            self.scene.bind(self.model)
            for values in self.series.values():
                values.clear()
            self._last_sample_s = -1e9
        self.wall_s += dt_s
        if self.exhibit:
            self._tour(dt_s)
        self.camera.update(dt_s)
        if self.following is not None:
            x_m, y_m = self.following.agent.position_m(self.model.now_s)
            self.camera.look_at(x_m + self.following.dx_m, y_m)
        self._sample()

    def _tour(self, dt_s: float) -> None:
        self._tour_clock += dt_s
        sites = self.scene.sites_m
        if self._tour_clock >= TOUR_S and sites:
            self._tour_clock = 0.0
            self._tour_index = (self._tour_index + 1) % (len(sites) + 1)
            if self._tour_index == len(sites):
                self._fit()
            else:
                self.camera.glide_to(*sites[self._tour_index][1], GLIDE_S)

    def _sample(self) -> None:
        if self.model.now_s - self._last_sample_s < 600.0:
            return
        self._last_sample_s = self.model.now_s
        kpis = self.kpis(fresh=True)
        for name, (service, key) in SERIES.items():
            value = kpis.get(service, {}).get(key)
            if value is not None:
                self.series[name].append(float(value))

    def kpis(self, fresh: bool = False) -> dict:
        """The services' KPIs, recomputed at most every KPI_REFRESH_S of wall time (some, such as the
        drones' separation read from the whole record, cost more than a frame), or when ``fresh``."""
        computed_at, model, figures = self._kpis
        if fresh or model is not self.model or time.monotonic() - computed_at >= KPI_REFRESH_S:
            figures = {s.id: s.kpis() for s in self.model.services}
            if "certification" in figures:
                figures["certification"]["wip"] = next(s for s in self.model.services if s.id == "certification").wip
            self._kpis = (time.monotonic(), self.model, figures)
        return figures

    # --- input ----------------------------------------------------------------------------
    def _events(self) -> bool:
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                return False
            if self.exhibit:
                continue  # an exhibition needs no input and ignores stray presses
            if event.type == pygame.KEYDOWN:
                if not self._key(event):
                    return False
            elif event.type == pygame.MOUSEWHEEL:
                self.camera.zoom(1.2 ** event.y, pygame.mouse.get_pos())
            elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
                self._drag = event.pos
                self.following = self._pick(event.pos)
            elif event.type == pygame.MOUSEBUTTONUP and event.button == 1:
                self._drag = None
            elif event.type == pygame.MOUSEMOTION and self._drag is not None:
                self.camera.pan(event.pos[0] - self._drag[0], event.pos[1] - self._drag[1])
                self._drag = event.pos
                self.following = None
            elif event.type == pygame.VIDEORESIZE:
                self.camera.width_px, self.camera.height_px = event.w, event.h
                self.camera.version += 1
        return True

    def _key(self, event: pygame.event.Event) -> bool:
        key = event.key
        if key in (pygame.K_ESCAPE, pygame.K_q):
            return False
        if key == pygame.K_SPACE:
            self.paused = not self.paused
        elif key in (pygame.K_PLUS, pygame.K_EQUALS, pygame.K_KP_PLUS):
            self.speed = next((s for s in SPEEDS if s > self.speed), SPEEDS[-1])
        elif key in (pygame.K_MINUS, pygame.K_KP_MINUS):
            self.speed = next((s for s in reversed(SPEEDS) if s < self.speed), SPEEDS[0])
        elif key == pygame.K_PERIOD:
            self.paused = True
            self.model.step()
        elif key == pygame.K_h:
            self.help = not self.help
        elif key == pygame.K_f:
            pygame.display.toggle_fullscreen()
        elif key == pygame.K_p:
            self.screenshot()
        elif pygame.K_1 <= key < pygame.K_1 + len(LAYERS):
            layer = LAYERS[key - pygame.K_1]
            self.scene.visible[layer] = not self.scene.visible[layer]
        return True

    def _pick(self, pos: tuple[int, int]) -> Marker | None:
        best, best_d = None, 12.0**2
        for marker in self.scene.markers():
            x, y = self.camera.point(marker.x_m, marker.y_m)
            d = (x - pos[0]) ** 2 + (y - pos[1]) ** 2
            if d <= best_d:
                best, best_d = marker, d
        return best

    def screenshot(self) -> Path:
        self.screenshots.mkdir(parents=True, exist_ok=True)
        path = self.screenshots / f"{self.model.scenario.name}_{int(self.model.now_s):07d}s.png"
        pygame.image.save(self.screen, str(path))
        return path

    # --- drawing --------------------------------------------------------------------------
    def render(self) -> None:
        self.scene.draw(self.screen, self.camera)
        self._panel()
        self._stand_in_banner()
        if self.overlay:
            self._caption()
        if self.following is not None:
            self._agent_box(self.following)
        if self.help:
            self._help()

    def _text(self, text: str, pos: tuple[int, int], font: str = "normal", colour=(235, 235, 240)) -> int:
        surface = self.fonts[font].render(text, True, colour)
        self.screen.blit(surface, pos)
        return surface.get_height()

    def _panel(self) -> None:
        width, height = self.screen.get_size()
        panel = pygame.Surface((PANEL_W, height), pygame.SRCALPHA)
        panel.fill((10, 12, 18, 215))
        self.screen.blit(panel, (width - PANEL_W, 0))
        x, y = width - PANEL_W + 14, 12
        meta = self.model.scenario.spec.scenario
        areas = list({w.area.id: w.area.spec for w in self.model.worlds.values()}.values())
        title = " + ".join(a.name_ko for a in areas) + " · " + " + ".join(a.name_en for a in areas)
        y += self._text(title, (x, y), "title") + 4
        when = dt.datetime.combine(meta.start_date, dt.time()) + dt.timedelta(seconds=self.model.now_s)
        state = "paused" if self.paused else f"{self.speed:g}x"
        y += self._text(f"{when:%Y-%m-%d %H:%M}  ({state})", (x, y)) + 8
        shown = []
        for service, figures in self.kpis().items():
            if service == "engine":
                continue
            keys = HEADLINES.get(figures.get("service", ""), OPERATIONS if service == "operations" else ())
            values = [(key, figures[key]) for key in keys if key in figures and (figures[key] is None or (
                      isinstance(figures[key], (int, float)) and not isinstance(figures[key], bool)))]
            shown.append((service, values, SERVICE_KIND.get(figures.get("service", ""))))
        # A whole-testbed scenario has many services: then each gets one line with its first figures.
        compact = sum(1 + len(values) for _, values, _ in shown) * 17 > height - y - 170
        for service, values, kind in shown:
            # each service's name is drawn with its agents' colour and mark: the legend, per service
            colour = KIND_COLOUR.get(kind, (255, 210, 90))
            if kind is not None:
                pygame.draw.circle(self.screen, colour, (x - 6, y + 9), 4)
            if compact:
                line = " · ".join(f"{key} {_shown(value, '.3g')}" for key, value in values[:2])
                y += self._text(service, (x, y), "small", colour)
                y += self._text(f"  {line}", (x, y), "small") + 2
                continue
            y += self._text(service, (x, y), "normal", colour)
            for key, value in values:
                y += self._text(f"  {key}: {_shown(value, 'g')}", (x, y), "small")
            y += 4
        for name, values in self.series.items():
            if len(values) >= 2 and y < height - 150:
                y = self._chart(name, values, x, y + 4)
        self._legend(x, max(y + 8, height - 120))

    def _fit(self) -> None:
        """The whole scene in view, clear of the panel on the right and of the banners and the
        places' titles at the top."""
        top_px = self._banner_bottom_px()
        if self.scene.place_titles:
            top_px += self.fonts["title"].get_height() + self.fonts["small"].get_height() + 6
        self.camera.fit(*self.scene.bounds(), right_px=PANEL_W, top_px=top_px)

    def _banner_lines(self) -> list[str]:
        return [f"대체 지도: {used} 도로망이 {ref} 대신 쓰였습니다 · stand-in map: {used}'s roads stand in for {ref}"
                for ref, used in sorted(self.model.stand_in.items())]

    def _banner_bottom_px(self) -> int:
        """Where the stand-in banners end (0 without them)."""
        lines = self._banner_lines()
        return 10 + len(lines) * (self.fonts["normal"].get_height() + 10) if lines else 0

    def _stand_in_banner(self) -> None:
        """On a stand-in map the screen says so, in Korean and English."""
        y = 10
        for line in self._banner_lines():
            text = self.fonts["normal"].render(line, True, (30, 24, 0))
            pygame.draw.rect(self.screen, (250, 205, 80), text.get_rect(topleft=(12, y)).inflate(12, 6))
            self.screen.blit(text, (12, y))
            y += text.get_height() + 10

    def _caption(self) -> None:
        """The exhibition caption: what one of the services is doing and why it matters."""
        shown = caption_at(self.model, self.wall_s)
        if shown is None:
            return
        width, height = self.screen.get_size()
        usable = max(width - PANEL_W - 40, width // 2)  # a small frame: the caption goes under the panel
        lines = [self.fonts["title"].render(shown[0], True, (255, 255, 255)),
                 self.fonts["normal"].render(shown[1], True, (210, 220, 235))]
        lines = [line if line.get_width() <= usable else pygame.transform.smoothscale(
            line, (usable, int(line.get_height() * usable / line.get_width()))) for line in lines]
        box_h = sum(line.get_height() for line in lines) + 24
        box = pygame.Surface((usable + 24, box_h), pygame.SRCALPHA)
        box.fill((10, 12, 18, 225))
        self.screen.blit(box, (8, height - box_h - 8))
        y = height - box_h + 4
        for line in lines:
            self.screen.blit(line, (20, y))
            y += line.get_height() + 4

    def _chart(self, name: str, values: deque, x: int, y: int) -> int:
        self._text(f"{name}: {values[-1]:g}", (x, y), "small")
        rect = pygame.Rect(x, y + 18, PANEL_W - 28, 38)
        pygame.draw.rect(self.screen, (40, 44, 56), rect)
        low, high = min(values), max(values)
        span = (high - low) or 1.0
        points = [(rect.left + i * rect.width / (CHART_POINTS - 1), rect.bottom - (v - low) / span * rect.height)
                  for i, v in enumerate(values)]
        pygame.draw.lines(self.screen, (120, 200, 255), False, points, 2)
        return rect.bottom + 4

    def _legend(self, x: int, y: int) -> None:
        step = (PANEL_W - 28) // 5
        for i, (kind, colour) in enumerate(KIND_COLOUR.items()):
            pygame.draw.circle(self.screen, colour, (x + i * step + 6, y + 8), 6)
            self._text(kind, (x + i * step + 15, y), "small")
        for i, state in enumerate(("serving", "charging", "stopped", "idle", "flying")):
            pygame.draw.circle(self.screen, STATE_COLOUR[state], (x + i * step + 6, y + 30), 4)
            self._text(state, (x + i * step + 15, y + 22), "small")
        self._text("H: help", (x, y + 44), "small", (160, 160, 170))

    def _agent_box(self, marker: Marker) -> None:
        agent = marker.agent
        lines = [marker.name, f"{marker.kind}, {agent.state}"]
        if hasattr(agent, "battery_j"):
            lines += [f"battery {100 * agent.battery_j / agent.energy.battery_j:.0f} %",
                      f"odometer {agent.odometer_m / 1000:.2f} km"]
        if hasattr(agent, "onboard"):
            lines.append(f"on board {len(agent.onboard)}, plan {len(agent.plan)} stops")
        box = pygame.Surface((260, 22 * len(lines) + 12), pygame.SRCALPHA)
        box.fill((10, 12, 18, 220))
        self.screen.blit(box, (12, 12))
        for i, line in enumerate(lines):
            self._text(line, (22, 18 + 22 * i))

    def _help(self) -> None:
        box = pygame.Surface((420, 26 * len(HELP) + 20), pygame.SRCALPHA)
        box.fill((10, 12, 18, 235))
        width, height = self.screen.get_size()
        left, top = (width - PANEL_W - 420) // 2, (height - box.get_height()) // 2
        self.screen.blit(box, (left, top))
        for i, line in enumerate(HELP):
            self._text(line, (left + 16, top + 10 + 26 * i))


def _shown(value: float | None, spec: str) -> str:
    """A KPI as the panel prints it: a figure without data says so rather than showing 0."""
    return "no data" if value is None else format(value, spec)
