"""World metres to screen pixels and back: centre, scale, zoom about a point, pan."""

from __future__ import annotations

import numpy as np


class Camera:
    def __init__(self, width_px: int, height_px: int) -> None:
        self.width_px, self.height_px = width_px, height_px
        self.centre_x_m = self.centre_y_m = 0.0
        self.px_per_m = 1.0
        self.version = 0  # bumps on every change, so cached layers know when to redraw
        self._glide: tuple[float, float, float, float, float, float] | None = None  # from x, y, to x, y, t, duration

    def fit(self, min_x: float, min_y: float, max_x: float, max_y: float, margin: float = 0.08,
            right_px: int = 0, top_px: int = 0, bottom_px: int = 0) -> None:
        """Show the box whole in the screen less ``right_px`` on the right (where a panel sits),
        ``top_px`` at the top (banners, titles) and ``bottom_px`` at the bottom (captions)."""
        span_x, span_y = max(max_x - min_x, 1.0), max(max_y - min_y, 1.0)
        usable_px = max(self.width_px - right_px, 1)
        usable_height_px = max(self.height_px - top_px - bottom_px, 1)
        self.px_per_m = (1 - 2 * margin) * min(usable_px / span_x, usable_height_px / span_y)
        self.centre_x_m = (min_x + max_x) / 2 + right_px / 2 / self.px_per_m
        self.centre_y_m = (min_y + max_y) / 2 + (top_px - bottom_px) / 2 / self.px_per_m
        self.version += 1

    def to_screen(self, xy_m: np.ndarray) -> np.ndarray:
        """(n, 2) metres to (n, 2) pixels (y grows downwards)."""
        out = np.empty_like(xy_m, dtype=float)
        out[:, 0] = (xy_m[:, 0] - self.centre_x_m) * self.px_per_m + self.width_px / 2
        out[:, 1] = self.height_px / 2 - (xy_m[:, 1] - self.centre_y_m) * self.px_per_m
        return out

    def point(self, x_m: float, y_m: float) -> tuple[int, int]:
        return (int((x_m - self.centre_x_m) * self.px_per_m + self.width_px / 2),
                int(self.height_px / 2 - (y_m - self.centre_y_m) * self.px_per_m))

    def to_world(self, x_px: float, y_px: float) -> tuple[float, float]:
        return ((x_px - self.width_px / 2) / self.px_per_m + self.centre_x_m,
                (self.height_px / 2 - y_px) / self.px_per_m + self.centre_y_m)

    def zoom(self, factor: float, about_px: tuple[float, float]) -> None:
        x_m, y_m = self.to_world(*about_px)
        self.px_per_m = float(np.clip(self.px_per_m * factor, 1e-4, 100.0))
        new_x, new_y = self.to_world(*about_px)
        self.centre_x_m += x_m - new_x
        self.centre_y_m += y_m - new_y
        self.version += 1

    def pan(self, dx_px: float, dy_px: float) -> None:
        self.centre_x_m -= dx_px / self.px_per_m
        self.centre_y_m += dy_px / self.px_per_m
        self.version += 1

    def look_at(self, x_m: float, y_m: float) -> None:
        if (x_m, y_m) != (self.centre_x_m, self.centre_y_m):
            self.centre_x_m, self.centre_y_m = x_m, y_m
            self.version += 1

    def glide_to(self, x_m: float, y_m: float, seconds: float) -> None:
        """Move the centre to a point smoothly over ``seconds`` (eased in and out); see :meth:`update`."""
        self._glide = (self.centre_x_m, self.centre_y_m, x_m, y_m, 0.0, max(seconds, 1e-6))

    def update(self, dt_s: float) -> None:
        """Advance a glide by ``dt_s`` wall seconds."""
        if self._glide is None:
            return
        x0, y0, x1, y1, t, duration = self._glide
        t = min(t + dt_s, duration)
        u = t / duration
        ease = u * u * (3 - 2 * u)  # smoothstep: no jolt at either end
        self.centre_x_m, self.centre_y_m = x0 + (x1 - x0) * ease, y0 + (y1 - y0) * ease
        self.version += 1
        self._glide = None if t >= duration else (x0, y0, x1, y1, t, duration)
