"""Fading trails: the viewer's one-write trail pixels (kept between frames) are the pixels of
writing each point's dot, pass by pass, oldest first, with the colours faded towards the background."""

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"

import numpy as np  # noqa: E402
import pygame  # noqa: E402
from gwangju_twin.viz.camera import Camera  # noqa: E402
from gwangju_twin.viz.motion import SHAPE_PX_PER_M, TRAIL_POINTS, Motion, draw_trails  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

BACKGROUND = (20, 24, 30)


def _reference(size: tuple[int, int], camera: Camera, motion: Motion) -> np.ndarray:
    """The trail drawn one pixel at a time: for each pixel of the dot, every point oldest first."""
    width, height = size
    samples = list(motion.trail)[:-1]
    dot = 2 if camera.px_per_m < SHAPE_PX_PER_M else 5
    image = np.zeros((width, height, 3), dtype=np.uint8) + np.array(BACKGROUND, dtype=np.uint8)
    points = []
    for age, (xy_m, colours) in zip(range(len(samples), 0, -1), samples):
        fade = 0.75 * (1.0 - age / TRAIL_POINTS)
        for (x_m, y_m), colour in zip(xy_m, colours):
            x = int((x_m - camera.centre_x_m) * camera.px_per_m + width / 2)
            y = int(height / 2 - (y_m - camera.centre_y_m) * camera.px_per_m)
            if 0 <= x < width - 1 and 0 <= y < height - 1:
                tone = (np.array(BACKGROUND, dtype=float) + fade * (colour - np.array(BACKGROUND, dtype=float)))
                points.append((min(x, width - dot), min(y, height - dot), tone.astype(np.uint8)))
    for dx in range(dot):
        for dy in range(dot):
            for x, y, tone in points:
                image[x + dx, y + dy] = tone
    return image


def _drawn(screen: pygame.Surface, camera: Camera, motion: Motion) -> np.ndarray:
    screen.fill(BACKGROUND)
    draw_trails(screen, camera, motion, BACKGROUND)
    return pygame.surfarray.array3d(screen)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**16), agents=st.integers(1, 40), samples=st.integers(2, TRAIL_POINTS + 3),
       px_per_m=st.sampled_from([0.5, 1.0, 2.0]), pan_px=st.integers(-30, 30))
def test_trail_pixels_are_each_dot_written_oldest_first(seed: int, agents: int, samples: int, px_per_m: float,
                                                        pan_px: int) -> None:
    rng = np.random.default_rng(seed)
    size = (64, 48)
    screen = pygame.display.set_mode(size)
    camera = Camera(*size)
    camera.px_per_m = px_per_m
    motion = Motion()
    colours = rng.integers(0, 256, (agents, 3)).astype(float)
    for t_s in range(samples):
        motion.see(float(t_s), rng.uniform(-50, 50, (agents, 2)), colours, 1.0)
        assert (_drawn(screen, camera, motion) == _reference(size, camera, motion)).all()
        assert (_drawn(screen, camera, motion) == _reference(size, camera, motion)).all()  # kept pixels
    camera.pan(pan_px, -pan_px)
    assert (_drawn(screen, camera, motion) == _reference(size, camera, motion)).all()  # the camera moved
