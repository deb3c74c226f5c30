"""Frame time of the visualiser at 1920x1080 with 500 moving shuttles, headless (SDL dummy driver).

    python benchmarks/viz_frame_time.py [--agents 500] [--frames 300]

Needs the Helsinki test area in the map cache. Each frame advances the model by 1/60 s x 60
and draws everything (roads, zones, sites, labels, agents with their fading trails, panels). Besides
wall time it reports the process's CPU time a frame, what the viewer itself costs on a machine
other work also loads. Two peers, measured in the
same run on the same frames: one redraws the road layer every frame instead of using its cache;
the other places and draws the vehicles one at a time (``position_m`` and two circles per
vehicle, the viewer before issue 19) instead of in one numpy pass and one ``blits``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

from gwangju_twin import scenario  # noqa: E402
from gwangju_twin.model import TwinModel  # noqa: E402
from gwangju_twin.viz.app import Viewer  # noqa: E402
from gwangju_twin.viz.scene import EMPTY_STATE, Marker, mover_of  # noqa: E402
from gwangju_twin.world import load_world  # noqa: E402

SCENARIO = """
[scenario]
name = "frame_bench"
area = "helsinki_test"
[shuttles.supervision]
disengagement_rate = "0 / h"
[[shuttles.fleet]]
id = "loop"
service = "loop"
count = {agents}
depot = "west_depot"
route = ["south_stop", "east_stop", "north_stop", "centre_stop"]
windows = ["00:00-24:00"]
dwell = "0 s"
[shuttles.fleet.energy]
battery = "1000 kWh"
"""


CPU: dict[tuple[bool, bool], list[float]] = {}  # CPU time of each frame, by (cached, vectorised)


def one_at_a_time(scene) -> None:  # noqa: ANN001 - the viewer's Scene
    """The peer: each vehicle placed by its own ``position_m`` and drawn as its own two circles."""

    def draw_agents(screen, camera, view, sprites, now_s: float) -> None:  # noqa: ANN001
        dx = scene.view_dx(view)
        agents, _, states = view.positions(now_s)
        for vehicle, state in zip(agents, states):
            x, y = vehicle.position_m(now_s)
            mover = mover_of(view, state)
            scene.draw_marker(screen, camera, Marker(vehicle.name, mover.kind, state, x + dx, y, vehicle,
                                                     colour=mover.colour, core=mover.core or EMPTY_STATE))

    scene._draw_agents = draw_agents


def frame_times(agents: int, frames: int, cached: bool, vectorised: bool = True) -> list[float]:
    world = load_world("helsinki_test")
    model = TwinModel(scenario.loads(SCENARIO.format(agents=agents)), world)
    model.run_until(3 * 3600.0)  # every shuttle out on the loop
    viewer = Viewer(lambda loop: model, size=(1920, 1080), speed=60.0)
    if not vectorised:
        one_at_a_time(viewer.scene)
    times = []
    for _ in range(frames):
        started, cpu_started = time.perf_counter(), time.process_time()
        if not cached:
            viewer.camera.version += 1
        viewer.advance(1 / 60)
        viewer.render()
        times.append(time.perf_counter() - started)
        CPU.setdefault((cached, vectorised), []).append(time.process_time() - cpu_started)
    moving = sum(1 for v in model.services[0].vehicles if v.edge is not None)
    print(f"  {'cached' if cached else 'uncached'}{'' if vectorised else ', one at a time'}: {moving} of {agents} "
          "shuttles on an edge in the last frame")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args()
    cached = statistics.median(frame_times(args.agents, args.frames, True))
    uncached = statistics.median(frame_times(args.agents, args.frames, False))
    single = statistics.median(frame_times(args.agents, args.frames, True, vectorised=False))
    print(f"1920x1080, {args.agents} shuttles, median of {args.frames} frames")
    print(f"frame time with the road cache: {1000 * cached:.2f} ms ({1 / cached:.0f} frames/s; 60 fps needs 16.7 ms)")
    print(f"CPU time a frame with the road cache: {1000 * statistics.median(CPU[(True, True)]):.2f} ms")
    print(f"peer, roads redrawn every frame: {1000 * uncached:.2f} ms")
    print(f"cached / uncached: {cached / uncached:.2f}")
    print(f"peer, vehicles placed and drawn one at a time: {1000 * single:.2f} ms")
    print(f"at once / one at a time: {cached / single:.2f}")


if __name__ == "__main__":
    main()
