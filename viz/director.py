"""The exhibition's director: in each caption's scene the camera glides in to one moving agent of the
service the caption describes, follows it at street scale, then pulls back to the overview.

While close, the simulated speed eases down so the followed agent crosses a fraction of the screen
a second (a shuttle at 300x would cross a street view in a second); it eases back up on the way
out. The agent is the one of that service that moved furthest over the last frame (drones in the
air before those on the ground), so the same scenario and seed give the same film.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from gwangju_twin.viz.captions import CAPTION_S, caption_at

if TYPE_CHECKING:
    from gwangju_twin.viz.app import Viewer
    from gwangju_twin.viz.scene import Marker

IN_S, OUT_AT_S = 1.5, 7.0  # wall seconds into a scene: close by, and starting to pull back
STREET_SPAN_M = {False: 500.0, True: 2500.0}  # the view's width close by: a street, or a drone's reach
SWITCH_S = 1.0  # wall seconds the camera takes from an agent that stopped to the next
CROSSING = 0.12  # the share of the close view the followed agent crosses in a wall second


def _ease(u: float) -> float:
    u = min(max(u, 0.0), 1.0)
    return u * u * (3 - 2 * u)


class Director:
    """Moves the camera (and eases the speed) for the caption scene under way."""

    def __init__(self, viewer: Viewer) -> None:
        self.viewer = viewer
        self.scene_index = -1
        self.subject: Marker | None = None
        self.overview = (viewer.camera.centre_x_m, viewer.camera.centre_y_m, viewer.camera.px_per_m)
        self.speed_factor = 1.0
        self.switch: tuple[float, float, float] | None = None  # where the last subject stopped, and when

    def pick(self) -> Marker | None:
        """The agent of the captioned service that moved furthest since the last frame (None: none moved)."""
        viewer = self.viewer
        shown = caption_at(viewer.scene.views, viewer.wall_s)
        if shown is None:
            return None
        markers = viewer.scene._markers_of(shown[2], viewer.model.now_s)
        moved = [(m.altitude_m > 0, viewer.scene.moved_m(m), -i, m) for i, m in enumerate(markers)]
        moved = [row for row in moved if row[1] > 0.0]
        return max(moved, key=lambda row: row[:3])[3] if moved else None

    def update(self) -> None:
        viewer, camera = self.viewer, self.viewer.camera
        index, t = int(viewer.wall_s // CAPTION_S), viewer.wall_s % CAPTION_S
        if index != self.scene_index:
            self.scene_index, self.subject, self.switch = index, None, None
        if self.subject is None and t < OUT_AT_S:
            self.subject = self.pick()
        if self.subject is not None:
            self.subject = viewer.scene.locate(self.subject)
        if self.subject is not None and t < OUT_AT_S and viewer.scene.moved_m(self.subject) == 0.0:
            found = self.pick()  # it stopped (landed, reached its stop): on to one still moving, gliding over
            if found is not None and found.agent is not self.subject.agent:
                self.switch = (self.subject.x_m, self.subject.y_m, viewer.wall_s)
                self.subject = found
        x0, y0, zoom0 = self.overview
        if self.subject is None:
            close = 0.0
            x1, y1, zoom1 = x0, y0, zoom0
        else:
            close = _ease(t / IN_S) if t < OUT_AT_S else 1.0 - _ease((t - OUT_AT_S) / (CAPTION_S - OUT_AT_S))
            span_m = STREET_SPAN_M[self.subject.altitude_m > 0 or self.subject.view.altitudes_m is not None]
            x1, y1 = self.subject.x_m, self.subject.y_m
            if self.switch is not None:  # from the one that stopped to this one, over SWITCH_S
                u = _ease((viewer.wall_s - self.switch[2]) / SWITCH_S)
                x1, y1 = self.switch[0] + u * (x1 - self.switch[0]), self.switch[1] + u * (y1 - self.switch[1])
            zoom1 = max(zoom0, (camera.width_px - viewer.scene.right_px) / span_m)
            speed_mps = viewer.scene.speed_mps(self.subject)
            full = CROSSING * span_m / max(speed_mps, 0.5) / viewer.speed  # the factor that crosses 12 % a second
            self.speed_factor = 1.0 - close * (1.0 - min(full, 1.0))
        if self.subject is None:
            self.speed_factor = 1.0
        zoom = math.exp(math.log(zoom0) + close * (math.log(zoom1) - math.log(zoom0)))
        # the followed agent sits in the middle of the map (left of the panel), the overview as fitted
        shift_x_m = viewer.scene.right_px / 2 / zoom
        shift_y_m = (viewer.scene.bottom_px - viewer._banner_bottom_px()) / 2 / zoom  # amid banners and caption
        centre = np.array([x0, y0]) + close * (np.array([x1 + shift_x_m, y1 - shift_y_m]) - np.array([x0, y0]))
        placed = (float(centre[0]), float(centre[1]), zoom)
        if placed != (camera.centre_x_m, camera.centre_y_m, camera.px_per_m):
            camera.centre_x_m, camera.centre_y_m, camera.px_per_m = placed
            camera.version += 1
