"""The visualiser's window: a live model drawn at up to 60 frames a second.

Keys: space pause/play, +/- speed (1x to 1000x), . single step, wheel zoom, drag pan, click an
agent to follow it, 1-7 toggle layers, F fullscreen, P screenshot, H help, Esc or q quit.
Exhibition mode plays fullscreen on a loop from the busiest hour over the active hours, a director
following the captioned service close up, with big numbers and captions; Esc or q quit it.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import numpy as np  # noqa: E402
import pygame  # noqa: E402
from gwangju_twin.model import TwinModel  # noqa: E402
from gwangju_twin.viz.camera import Camera  # noqa: E402
from gwangju_twin.viz.director import Director  # noqa: E402
from gwangju_twin.viz.fonts import hangul_font_path  # noqa: E402
from gwangju_twin.viz.overlays import draw_agent_box, draw_banner, draw_caption, draw_card, draw_help  # noqa: E402
from gwangju_twin.viz.panel import PANEL_W, TILE_H, Series, draw_panel, draw_tiles  # noqa: E402
from gwangju_twin.viz.scene import LAYERS, Marker, Scene  # noqa: E402
from gwangju_twin.viz.timeline import DAY_S, Timeline, clock  # noqa: E402

SPEEDS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1000)
KPI_REFRESH_S = 1.0  # the panel's figures are at most this old (wall time)
CARD_S = 2.0  # wall seconds the card of skipped quiet hours stays
CHART_STEP_S = 120.0  # simulated seconds between chart samples


class Viewer:
    """One window showing one model (replaced by a fresh one each exhibition loop)."""

    def __init__(self, make_model: Callable[[int], TwinModel], *, size: tuple[int, int] = (1600, 900),
                 exhibit: bool = False, speed: float = 60.0, record: Path | None = None,
                 screenshots: Path = Path("screenshots"), overlay: bool | None = None,
                 fullscreen: bool | None = None, start_s: float | None = None, timeline: bool | None = None) -> None:
        pygame.display.init()  # no audio: nothing to play, and no ALSA noise on the terminal
        pygame.font.init()
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
                      "title": pygame.font.Font(str(hangul_font_path("Bold")), 22),
                      "big": pygame.font.Font(str(hangul_font_path("Bold")), 40)}
        self.camera = Camera(*self.screen.get_size())
        self.scene = Scene(self.model, self.fonts)
        self.scene.right_px = PANEL_W
        self.scene.bottom_px = self._caption_h() + 16 + TILE_H + 8 if self.overlay else 0  # caption and tiles
        if exhibit:
            pygame.mouse.set_visible(False)  # a hall: no cursor over the map
        self.director: Director | None = None
        self._fit()
        self.speed = speed
        self.paused = False
        self.help = False
        self.following: Marker | None = None
        self.series = Series(self.scene.views)
        self.panel_cache: tuple | None = None
        self._last_sample_s = -1e9
        self._kpis: tuple[float, TwinModel | None, dict] = (-1e9, None, {})
        self._drag: tuple[int, int] | None = None
        self.director = Director(self) if exhibit else None  # the exhibition's camera: in close, follow, back
        self.frames = 0
        self.clock = pygame.time.Clock()
        # the show's clock: from the busiest hour (or --start) over the active hours, quiet ones skipped
        self.timeline_on = exhibit if timeline is None else timeline
        self.timeline = Timeline.of(self.scene.views)
        self.start_s = start_s if start_s is not None else (self.timeline.busiest_s() if self.timeline_on else None)
        self.chosen_start = start_s is None and self.timeline_on  # the busiest hour, not --start
        self.card: tuple[str, str, float] | None = None  # a skip's (from, to, wall time shown)
        self._begin_loop()

    def _begin_loop(self) -> None:
        """Bring the model to where the show starts (the busiest hour, or --start)."""
        if self.start_s is not None and self.start_s > self.model.now_s:
            self.model.run_until(min(self.start_s, self.model.duration_s))
            if self.chosen_start:
                self._until_moving()
        self._loop_end_s = (self.model.now_s // DAY_S + 1) * DAY_S  # a loop plays one day's active hours

    # --- main loop ------------------------------------------------------------------------
    def _until_moving(self, step_s: float = 60.0, within_s: float = 3600.0) -> None:
        """From the busiest hour's start, on to the first minute something moves (within the hour):
        the show opens on movement, not on drones still waiting for their first parcel."""
        def where() -> list:
            return [np.asarray(view.positions(self.model.now_s)[1], dtype=float).copy() for view in self.scene.views]

        until_s = min(self.model.now_s + within_s, self.model.duration_s)
        before = where()
        while self.model.now_s + step_s <= until_s:
            self.model.run_until(self.model.now_s + step_s)
            after = where()
            if any(a.shape != b.shape or not np.array_equal(a, b) for a, b in zip(after, before)):
                return
            before = after

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
        over = False
        if not self.paused:
            factor = self.director.speed_factor if self.director is not None else 1.0  # slower when close
            self.model.run_until(self.model.now_s + dt_s * self.speed * factor)
            self.scene.trail_step_s = 0.08 * self.speed * factor  # a trail point every 0.08 s of wall time
            if self.timeline_on:
                over = self._skip_quiet()
        if (self.model.finished or over) and self.exhibit:
            ended_s = self.model.now_s
            self.loop += 1
            self.model.close()
            self.model = self.make_model(self.loop)
            self.model.tracks.enabled = False
            self.scene.bind(self.model)
            self.following = None
            if self.director is not None:
                self.director.subject = None  # it holds an agent of the finished day's model
            self.series = Series(self.scene.views)
            self._last_sample_s = -1e9
            self._begin_loop()
            if self.timeline_on:
                self.card = (clock(ended_s), clock(self.model.now_s), self.wall_s)
        self.wall_s += dt_s
        if self.director is not None:
            self.director.update()
        self.camera.update(dt_s)
        if self.following is not None:
            self.following = self.scene.locate(self.following)
            if self.following is not None:
                self.camera.look_at(self.following.x_m, self.following.y_m)
        self._sample()

    def _skip_quiet(self) -> bool:
        """Jump over quiet hours (a card says so); True when the loop's day has no more active hours."""
        now_s = self.model.now_s
        if now_s >= self._loop_end_s:
            return True
        next_s = self.timeline.next_active_s(now_s)
        if next_s <= now_s:
            return False
        if next_s >= min(self._loop_end_s, self.model.duration_s):
            return True
        self.model.run_until(next_s)
        self.card = (clock(now_s), clock(next_s), self.wall_s)
        return False

    def _sample(self) -> None:
        if self.model.now_s - self._last_sample_s < CHART_STEP_S:
            return
        self._last_sample_s = self.model.now_s
        self.series.sample()

    def kpis(self, fresh: bool = False) -> dict:
        """The services' KPIs, recomputed at most every KPI_REFRESH_S of wall time (some, such as the
        drones' separation read from the whole record, cost more than a frame), or when ``fresh``."""
        computed_at, model, figures = self._kpis
        if fresh or model is not self.model or time.monotonic() - computed_at >= KPI_REFRESH_S:
            figures = {s.id: s.kpis() for s in self.model.services}
            self._kpis = (time.monotonic(), self.model, figures)
        return figures

    # --- input ----------------------------------------------------------------------------
    def _events(self) -> bool:
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                return False
            if self.exhibit:  # a hall: Esc and q quit, every other press is ignored
                if event.type == pygame.KEYDOWN and event.key in (pygame.K_ESCAPE, pygame.K_q):
                    return False
                continue
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
        self.labels = self.scene.draw(self.screen, self.camera, top_px=self._banner_bottom_px())
        draw_panel(self)
        draw_banner(self)
        if self.overlay:
            draw_caption(self)
            draw_tiles(self)
        if self.card is not None and self.wall_s - self.card[2] < CARD_S:
            draw_card(self)
        if self.following is not None:
            draw_agent_box(self, self.following)
        if self.help:
            draw_help(self)

    def _text(self, text: str, pos: tuple[int, int], font: str = "normal", colour=(235, 235, 240)) -> int:
        surface = self.fonts[font].render(text, True, colour)
        self.screen.blit(surface, pos)
        return surface.get_height()

    def place_title(self) -> str:
        """The places shown, in Korean and English."""
        areas = list({w.area.id: w.area.spec for w in self.model.worlds.values()}.values())
        return " + ".join(a.name_ko for a in areas) + " · " + " + ".join(a.name_en for a in areas)

    def clock_text(self) -> str:
        """The simulated date and time, and the speed (or paused)."""
        meta = self.model.scenario.spec.scenario
        when = dt.datetime.combine(meta.start_date, dt.time()) + dt.timedelta(seconds=self.model.now_s)
        state = "paused" if self.paused else f"{self.speed:g}x"
        return f"{when:%Y-%m-%d %H:%M}  ({state})"

    def _fit(self) -> None:
        """The whole scene in view, clear of the panel on the right and of the banners and the
        places' titles at the top."""
        top_px = self._banner_bottom_px()
        if self.scene.place_titles:
            top_px += self.fonts["title"].get_height() + self.fonts["small"].get_height() + 6
        self.camera.fit(*self.scene.bounds(), right_px=PANEL_W, top_px=top_px, bottom_px=self.scene.bottom_px)
        if self.director is not None:
            self.director.overview = (self.camera.centre_x_m, self.camera.centre_y_m, self.camera.px_per_m)

    def _banner_lines(self) -> list[str]:
        return [f"대체 지도: {used} 도로망이 {ref} 대신 쓰였습니다 · stand-in map: {used}'s roads stand in for {ref}"
                for ref, used in sorted(self.model.stand_in.items())]

    def _banner_bottom_px(self) -> int:
        """Where the stand-in banners end (0 without them)."""
        lines = self._banner_lines()
        return 10 + len(lines) * (self.fonts["normal"].get_height() + 10) if lines else 0

    def _caption_h(self) -> int:
        return self.fonts["title"].get_height() + self.fonts["normal"].get_height() + 28
