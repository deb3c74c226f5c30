"""How things move, as the viewer shows it: where each agent was a frame ago (for the director and
the headings), trails of recent movement that fade, and vehicles at street scale as shapes
oriented along their way.

Trails keep the last :data:`TRAIL_POINTS` positions of every agent, one sample every
``trail_step_s`` simulated seconds, and are written straight into the screen's pixels with numpy
(2 x 2 pixels a point, older points closer to the background): thousands of agents cost one
vectorised write, not thousands of draw calls.
"""

from __future__ import annotations

import itertools
import math
from collections import deque

import numpy as np
import pygame

TRAIL_POINTS = 12
SHAPE_PX_PER_M = 1.5  # from this zoom on (a street across the screen), vehicles are drawn as oriented shapes
HEADINGS = 24  # rotated sprites per shape, every 15 degrees
_SAMPLES = itertools.count()  # a number for every trail sample taken, never reused


class Motion:
    """One service's agents over the last frames: positions, trail samples and their colours."""

    def __init__(self) -> None:
        self.prev: tuple[float, np.ndarray] | None = None
        self.cur: tuple[float, np.ndarray] | None = None
        self.trail: deque[tuple[np.ndarray, np.ndarray]] = deque(maxlen=TRAIL_POINTS)
        self.heading = np.zeros(0)
        self._sampled_s = -math.inf
        self._sample_id = next(_SAMPLES)  # the newest sample's number: trail pixels are kept until it changes
        self.trail_px: tuple[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None

    def due(self, now_s: float, step_s: float) -> bool:
        """Whether a trail point is due (``step_s`` after the last, or the clock went back)."""
        return now_s - self._sampled_s >= step_s or now_s < self._sampled_s

    def see(self, now_s: float, xy_m: np.ndarray, colours: np.ndarray | None, step_s: float) -> None:
        """This frame's positions (in drawing metres) and, for trails, the agents' colours."""
        if self.cur is not None and len(self.cur[1]) != len(xy_m):
            self.__init__()  # another set of agents: start again
        if self.cur is None or now_s != self.cur[0]:
            self.prev, self.cur = self.cur, (now_s, np.array(xy_m, dtype=float))
        if self.prev is not None:
            step = self.cur[1] - self.prev[1]
            moving = np.hypot(step[:, 0], step[:, 1]) > 1e-6
            if len(self.heading) != len(step):
                self.heading = np.zeros(len(step))
            self.heading[moving] = np.arctan2(step[moving, 1], step[moving, 0])
        if colours is not None and self.due(now_s, step_s):
            self.trail.append((self.cur[1], colours))
            self._sampled_s = now_s
            self._sample_id = next(_SAMPLES)

    def moved_m(self, index: int) -> float:
        if self.prev is None or self.cur is None or index >= len(self.cur[1]):
            return 0.0
        return float(np.hypot(*(self.cur[1][index] - self.prev[1][index])))

    def speed_mps(self, index: int) -> float:
        if self.prev is None or self.cur is None or self.cur[0] <= self.prev[0]:
            return 0.0
        return self.moved_m(index) / (self.cur[0] - self.prev[0])


def draw_trails(screen: pygame.Surface, camera, motion: Motion, background: tuple[int, int, int]) -> None:  # noqa: ANN001
    """The trail points, oldest faintest, written into the pixels at once.

    Where they fall on screen and their tones are kept between frames until a sample is taken or
    the camera or the screen (its size, its pixel format) changes; a frame then only writes the pixels.
    """
    if len(motion.trail) < 2:
        return
    key = (motion._sample_id, camera.centre_x_m, camera.centre_y_m, camera.px_per_m, camera.width_px,
           camera.height_px, screen.get_size(), screen.get_masks(), tuple(background))
    if motion.trail_px is None or motion.trail_px[0] != key:
        motion.trail_px = (key, _trail_pixels(screen, camera, motion, background))
    x, y, tone = motion.trail_px[1]
    pixels = pygame.surfarray.pixels2d(screen) if tone.ndim == 1 else pygame.surfarray.pixels3d(screen)
    try:  # one write; oldest first, so newer points lie over older ones
        pixels[x, y] = tone
    finally:
        del pixels


def _trail_pixels(screen: pygame.Surface, camera, motion: Motion,  # noqa: ANN001
                  background: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pixels the trail points cover (x, y, in the order to write them) and their tones: the
    screen's mapped colours on a 32-bit screen, RGB otherwise."""
    width, height = screen.get_size()
    samples = list(motion.trail)[:-1]  # the newest is where the agents are drawn
    fade = 0.75 * (1.0 - np.arange(len(samples), 0, -1) / TRAIL_POINTS)  # oldest first, faintest
    xy_m = np.concatenate([xy for xy, _ in samples])
    tone = np.concatenate([np.asarray(background, dtype=float) + f * (colours - np.asarray(background, dtype=float))
                           for f, (_, colours) in zip(fade, samples)]).astype(np.uint8)
    px = camera.to_screen(xy_m).astype(int)
    keep = (px[:, 0] >= 0) & (px[:, 0] < width - 1) & (px[:, 1] >= 0) & (px[:, 1] < height - 1)
    x, y, tone = px[keep, 0], px[keep, 1], tone[keep]
    dot = 2 if camera.px_per_m < SHAPE_PX_PER_M else 5  # close up, a trail a visitor sees
    x, y = np.clip(x, 0, width - dot), np.clip(y, 0, height - dot)
    if screen.get_bytesize() == 4:
        tone = pygame.surfarray.map_array(screen, tone.reshape(-1, 1, 3)).reshape(-1)
    offsets = [(dx, dy) for dx in range(dot) for dy in range(dot)]  # the dot's pixels, one pass each
    return (np.concatenate([x + dx for dx, _ in offsets]), np.concatenate([y + dy for _, dy in offsets]),
            np.concatenate([tone] * len(offsets)))


class ShapeSprites(dict):
    """A vehicle seen close: a rounded body of its kind's colour with a dot of its state's, pointing
    its way; by (colour, core, heading bucket, length in pixels)."""

    def __missing__(self, key: tuple) -> pygame.Surface:
        colour, core, bucket, length_px = key
        w, h = length_px, max(length_px // 2, 6)
        body = pygame.Surface((w + 4, h + 4), pygame.SRCALPHA)
        pygame.draw.rect(body, (10, 12, 16, 255), pygame.Rect(0, 0, w + 4, h + 4), border_radius=h // 2 + 2)
        pygame.draw.rect(body, (*colour, 255), pygame.Rect(2, 2, w, h), border_radius=h // 2)
        pygame.draw.polygon(body, (255, 255, 255, 255), [(w - 1, h // 2 + 2), (w - h // 2, 4), (w - h // 2, h)])
        pygame.draw.circle(body, (*core, 255), (w // 2, h // 2 + 2), max(h // 4, 2))
        sprite = pygame.transform.rotate(body, bucket * 360.0 / HEADINGS)
        self[key] = sprite
        return sprite


def draw_shapes(screen: pygame.Surface, px: np.ndarray, heading: np.ndarray, looks: list[tuple],
                sprites: ShapeSprites, length_px: int) -> None:
    """Vehicles on screen as oriented shapes (those off screen skipped)."""
    width, height = screen.get_size()
    keep = np.flatnonzero((px[:, 0] > -20) & (px[:, 0] < width + 20) & (px[:, 1] > -20) & (px[:, 1] < height + 20))
    buckets = (np.round(heading / (2 * math.pi) * HEADINGS).astype(int) % HEADINGS) if len(heading) else []
    items = []
    for i in keep.tolist():
        colour, core = looks[i]
        sprite = sprites[(colour, core, int(buckets[i]) if len(heading) > i else 0, length_px)]
        items.append((sprite, sprite.get_rect(center=(int(px[i, 0]), int(px[i, 1])))))
    screen.blits(items, doreturn=False)
