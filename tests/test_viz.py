"""The visualiser: pixels where roads and agents are, real Hangul glyphs, a real X window,
exhibition loops that do not grow. Rendering runs on SDL's dummy driver unless said otherwise."""

import gc
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"

import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402
import synthetic  # noqa: E402
from gwangju_twin import scenario  # noqa: E402
from gwangju_twin.model import TwinModel  # noqa: E402
from gwangju_twin.viz.app import Viewer  # noqa: E402
from gwangju_twin.viz.fonts import hangul_font_path  # noqa: E402
from gwangju_twin.viz.scene import ROAD  # noqa: E402

LOOP = """
[[shuttles.fleet]]
id = "loop"
service = "loop"
count = 1
depot = "depot"
route = ["a", "b"]
windows = ["00:00-23:00"]
dwell = "0 s"
"""


def _model(duration: str = "24 h") -> TwinModel:
    # SYNTHETIC: a 1 km road, a loop shuttle between its ends.
    world = synthetic.world(synthetic.line_graph(10, 100.0), {"depot": 1, "a": 1, "b": 11})
    extra = '[shuttles.supervision]\ndisengagement_rate = "0 / h"'
    return TwinModel(scenario.loads(synthetic.scenario_text(LOOP, extra=extra, duration=duration)), world)


def _pixel(viewer: Viewer, xy: tuple[int, int]) -> tuple[int, int, int]:
    return tuple(viewer.screen.get_at(xy))[:3]


def test_roads_and_agents_are_drawn_where_they_are() -> None:
    model = _model()
    viewer = Viewer(lambda loop: model, size=(1000, 600), speed=1.0)
    model.run_until(250.0)  # 250 s at 5 km/h: 347 m east of the west end, mid-edge
    viewer.render()
    net = model.world.network
    vehicle = model.services[0].vehicles[0]
    x_m, y_m = vehicle.position_m(model.now_s)
    assert x_m - net.x_m.min() == pytest.approx(250.0 * 5 / 3.6)
    # a road pixel away from the agent: the middle of the easternmost edge
    road = viewer.camera.point(net.x_m.max() - 50.0, net.y_m.max())
    assert _pixel(viewer, road) == ROAD
    centre = viewer.camera.point(x_m, y_m)
    serving = viewer.scene.views[0].movers["serving"]  # what the shuttles' plug-in declares
    assert _pixel(viewer, centre) == serving.core
    assert _pixel(viewer, (centre[0] + 6, centre[1])) == serving.colour == (80, 160, 255)
    # 200 px off the road: no road, no agent, but the drone free zone's tint (the synthetic road
    # lies at 126.85 E, 35.23 N, inside the Buk-gu zone); with the zone layer off, background
    off_road = (centre[0], centre[1] - 200)
    assert _pixel(viewer, off_road) == (24, 37, 57)
    viewer.scene.visible["zones"] = False
    viewer.render()
    assert _pixel(viewer, off_road) == (18, 22, 30)
    pygame.quit()


def test_vehicles_drawn_at_once_are_the_markers_drawn_one_by_one() -> None:
    """The fast path (one numpy placement, one ``blits`` of sprites) draws the very pixels of the
    one-marker-at-a-time drawing, in every state the vehicle passes through."""
    model = _model()
    viewer = Viewer(lambda loop: model, size=(400, 300), speed=1.0)
    scene, view, sprites = viewer.scene, viewer.scene.views[0], viewer.scene._state_sprites[0]
    scene.trails = False  # the markers alone
    states = set()
    for t_s in (0.0, 250.0, 700.0, 5000.0, 84000.0, 86300.0):
        model.run_until(t_s)
        (marker,) = scene.markers()
        one_by_one, at_once = pygame.Surface((400, 300)), pygame.Surface((400, 300))
        scene.draw_marker(one_by_one, viewer.camera, marker)
        scene._draw_agents(at_once, viewer.camera, view, sprites, model.now_s)
        assert pygame.image.tobytes(at_once, "RGB") == pygame.image.tobytes(one_by_one, "RGB")
        assert pygame.image.tobytes(at_once, "RGB").count(b"\x00") < 400 * 300 * 3  # something was drawn
        states.add(marker.state)
    assert len(states) >= 2, states
    pygame.quit()


def test_hangul_renders_as_glyphs_not_boxes() -> None:
    pygame.init()
    nanum = pygame.font.Font(str(hangul_font_path()), 28)
    default = pygame.font.Font(None, 28)

    def bitmap(font: pygame.font.Font, text: str) -> np.ndarray:
        return pygame.surfarray.array3d(font.render(text, True, (255, 255, 255), (0, 0, 0)))[:, :, 0]

    ours = [bitmap(nanum, ch) for ch in "빛그린첨단"]
    assert all(b.sum() > 0 for b in ours)
    assert len({b.tobytes() for b in ours}) == 5  # five syllables, five different glyphs
    boxes = [bitmap(default, ch) for ch in "빛그린"]
    assert len({b.tobytes() for b in boxes}) == 1  # the default font draws the same box for each
    pygame.quit()


def test_exhibition_loops_without_growing() -> None:
    import weakref

    made, models = [], []

    def make(loop: int) -> TwinModel:
        made.append(loop)
        model = _model("2 h")
        models.append(weakref.ref(model))
        return model

    viewer = Viewer(make, exhibit=True, speed=1000.0)
    assert viewer.screen.get_flags() & pygame.FULLSCREEN
    viewer.advance(0.0)
    counts = []
    for _ in range(6):
        loops = viewer.loop
        while viewer.loop == loops:
            viewer.advance(1.0)  # 1000 s of simulation per call
            viewer.render()
        gc.collect()
        counts.append(len(gc.get_objects()))
    assert viewer.loop >= 6 and made[:3] == [0, 1, 2]
    assert counts[-1] <= counts[1] * 1.02, counts
    # every finished day's model is freed (mesa keeps models in Agent._ids unless closed)
    assert [ref() is None for ref in models] == [True] * (len(models) - 1) + [False]
    pygame.quit()


def test_recording_writes_png_frames(tmp_path: Path) -> None:
    model = _model()
    viewer = Viewer(lambda loop: model, size=(640, 360), record=tmp_path / "frames")
    viewer.run(max_frames=5, last_frame=tmp_path / "last.png")
    frames = sorted((tmp_path / "frames").glob("frame_*.png"))
    assert len(frames) == 5 and (tmp_path / "last.png").stat().st_size > 1000


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed (.ci/run installs it)")
def test_a_real_window_under_xvfb(helsinki_map, tmp_path: Path) -> None:
    display = ":97"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SDL_")}
        env.update(DISPLAY=display, SDL_AUDIODRIVER="dummy")
        shot = tmp_path / "window.png"
        done = subprocess.run([sys.executable, "-m", "gwangju_twin.cli", "view", "bitgreen_shuttles", "--area",
                               "helsinki_test", "--start", "10.5 h", "--frames", "30", "--size", "1200x760",
                               "--screenshot", str(shot)], capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        pygame.init()
        image = pygame.surfarray.array3d(pygame.image.load(str(shot)))
        assert image.shape[:2] == (1200, 760)
        road = np.all(image == ROAD, axis=2).sum()
        assert road > 2000  # the road network is on the screenshot
        pygame.quit()
    finally:
        xvfb.terminate()
        xvfb.wait()


def test_corridors_and_drones_are_drawn_with_no_road_map() -> None:
    """The real Cheomdan 3 area with no road map: corridors, vertiports and drones raised above their shadows."""
    from gwangju_twin.areas import load_area
    from gwangju_twin.viz.scene import PX_PER_M_ALTITUDE, SHADOW
    from gwangju_twin.world import World

    world = World(load_area("cheomdan3"), None)
    model = TwinModel(scenario.load(scenario.packaged()["drone_free_zone"]), world, seed=1)
    viewer = Viewer(lambda loop: model, size=(1200, 800))

    def drawn_at(marker) -> list[tuple[float, float]]:  # its shadow and its body on screen
        px, py = viewer.camera.point(marker.x_m, marker.y_m)
        return [(px, py), (px, py - int(min(marker.altitude_m * PX_PER_M_ALTITUDE, 40)))]

    def alone(marker, drones) -> bool:  # no other drone drawn within 12 px of its shadow or body
        return all(np.hypot(a[0] - b[0], a[1] - b[1]) > 12 for other in drones if other is not marker
                   for a in drawn_at(marker) for b in drawn_at(other))

    model.run_until(10 * 3600.0)
    flying = None
    while flying is None:  # a drone in cruise that no other drone's drawing overlaps
        model.run_until(model.now_s + 5.0)
        viewer.render()
        drones = [m for m in viewer.scene.markers() if m.kind == "drone"]
        flying = next((m for m in drones if m.state.endswith(":cruise") and alone(m, drones)), None)
    x, y = viewer.camera.point(flying.x_m, flying.y_m)
    lift = int(min(flying.altitude_m * PX_PER_M_ALTITUDE, 40))
    assert flying.altitude_m > 60 and lift > 10
    cruise = flying.view.movers["parcel_multicopter:cruise"]
    assert _pixel(viewer, (x, y - lift)) == cruise.core
    assert _pixel(viewer, (x + 6, y - lift)) == cruise.colour
    assert _pixel(viewer, (x, y - lift // 2)) == SHADOW  # the height stalk
    assert _pixel(viewer, (x - 4, y)) == SHADOW  # its shadow, over any drone on the ground there
    pygame.quit()


def test_the_whole_testbed_panel_fits_the_screen(helsinki_map) -> None:
    """testbed_day has ten services: the panel shows each, in one screen (compact lines)."""
    from gwangju_twin import runner

    model = runner.build_model(scenario.packaged()["testbed_day"], area="helsinki_test")
    model.run_until(11 * 3600.0)
    viewer = Viewer(lambda loop: model, size=(1280, 720), speed=1.0)
    drawn: list[tuple[str, int, int]] = []
    original = viewer._text

    def spy(text: str, pos: tuple[int, int], font: str = "normal", colour=(235, 235, 240)) -> int:
        h = original(text, pos, font, colour)
        drawn.append((text, pos[1], h))
        return h

    viewer._text = spy
    viewer.render()
    titles = {text for text, _, _ in drawn}
    assert {service.id for service in model.services} <= titles
    assert max(y + h for _, y, h in drawn) <= 720
    kpi_lines = [(text, y) for text, y, _ in drawn if text.startswith(("streets swept", "rides served", "parcels"))]
    assert len(kpi_lines) >= 5 and max(y for _, y in kpi_lines) < viewer.legend_top_px  # figures never run into the legend


def test_testbed_day_charts_each_kind_of_service_and_captions_match_the_scenario(helsinki_map, tmp_path: Path,
                                                                                 monkeypatch) -> None:
    """A chart per kind of service (a line per service), and captions that tell the scenario's own
    counts, read here from the scenario file; drone_free_zone, which has no hydrogen drone, says none."""
    import tomllib

    from gwangju_twin import runner
    from gwangju_twin.viz.captions import captions

    path = scenario.packaged()["testbed_day"]
    spec = tomllib.loads(Path(path).read_text())
    model = runner.build_model(path, area="helsinki_test")
    viewer = Viewer(lambda loop: model, size=(1280, 720), speed=600.0)
    for _ in range(70):  # to 11:40, a chart sample every 600 simulated seconds
        viewer.advance(1.0)
    fleets = spec["shuttles"]["fleet"]
    kinds = {fleet["service"] for fleet in fleets} | {"drones", "certification"}
    charts = viewer.series.charts
    assert len(charts) == len(kinds) == 6, list(charts)
    lines = {service_id for chart in charts.values() for service_id in chart}
    assert lines == {fleet["id"] for fleet in fleets} | {"drones", "certification"}
    assert all(len(values) >= 60 for chart in charts.values() for _, values in chart.values())
    swept = next(chart for title, chart in charts.items() if "streets swept" in title)
    assert max(values[-1] for _, values in swept.values()) > 10  # the sweepers swept from 10:00
    drawn: list[str] = []
    original = viewer._text
    viewer._text = lambda text, pos, font="normal", colour=(235, 235, 240): drawn.append(text) or original(
        text, pos, font, colour)
    viewer.render()
    for title in charts:
        assert any(text.startswith(title.split(" · ")[0]) for text in drawn), title  # each chart on screen
    english = [en for _, en, _ in captions(viewer.scene.views)]
    nouns = {"cleaning": "driverless sweeper", "waste": "driverless collector", "on_demand": "on-demand shuttle",
             "loop": "loop shuttle"}
    for fleet in fleets:
        noun = nouns[fleet["service"]] + ("" if fleet["count"] == 1 else "s")
        assert any(f"{fleet['count']} {noun} " in en or f"{fleet['count']} {noun}:" in en for en in english), fleet["id"]
    kinds_of = {t["id"]: t["store"] for t in spec["drones"]["types"]}
    based = [(kinds_of[t], n) for port in spec["drones"]["vertiports"] for t, n in port.get("drones", {}).items()]
    parcel, hydrogen = (sum(n for store, n in based if store == s) for s in ("battery", "hydrogen"))
    drone = next(en for en in english if "drone" in en)
    assert f"{parcel} parcel drones" in drone and f"{hydrogen} hydrogen cargo drone" in drone
    pygame.quit()
    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path / "empty-cache"))
    free = runner.build_model(scenario.packaged()["drone_free_zone"])
    viewer = Viewer(lambda loop: free, size=(1280, 720))
    free_spec = tomllib.loads(Path(scenario.packaged()["drone_free_zone"]).read_text())
    ((ko, en, _),) = captions(viewer.scene.views)
    assert "hydrogen" not in en and "수소" not in ko
    count = sum(n for port in free_spec["drones"]["vertiports"] for n in port.get("drones", {}).values())
    assert f"{count} parcel drones in the drone free zone" in en
    assert [title.split(" (")[0] for title in viewer.series.charts] == ["배송 · parcels delivered"]
    pygame.quit()


def test_a_screenshot_without_frames_ends_and_a_bad_start_names_start(helsinki_map, tmp_path: Path) -> None:
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    shot = tmp_path / "shot.png"
    done = subprocess.run([sys.executable, "-m", "gwangju_twin.cli", "view", "bitgreen_shuttles", "--area", "helsinki_test",
                           "--size", "640x400", "--screenshot", str(shot)], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert shot.stat().st_size > 1000
    bad = subprocess.run([sys.executable, "-m", "gwangju_twin.cli", "view", "bitgreen_shuttles", "--area", "helsinki_test",
                          "--start", "-3 h"], capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2 and bad.stderr.strip() == "error: --start '-3 h': must be more than 0 s"


def test_twin_record_writes_a_video_with_the_frames_size_and_length_asked(tmp_path: Path, monkeypatch) -> None:
    """A drone scenario on the real Gwangju places, no road map needed: 2 s at 10 fps of 640x360."""
    import imageio_ffmpeg

    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path / "empty-cache"))
    target = tmp_path / "hall.mp4"
    done = subprocess.run([sys.executable, "-m", "gwangju_twin.cli", "record", "drone_free_zone", str(target),
                           "--size", "640x360", "--fps", "10", "--length", "2 s", "--speed", "1800", "--start", "10 h"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and "20 frames, 2 s at 10 fps, 640x360, " in done.stdout
    hours = float(done.stdout.split("640x360, ")[1].split(" simulated hours")[0])
    assert 0 < hours <= 1.0  # 2 s at 1800x, less while the director is close up
    cues = target.with_suffix(".srt").read_text(encoding="utf-8").split("\n\n")
    assert len(cues) == 2 and cues[0].split("\n")[2].startswith("10:00  ")  # --start: the clock opens at 10:00
    assert imageio_ffmpeg.count_frames_and_secs(str(target)) == (20, 2.0)
    reader = imageio_ffmpeg.read_frames(str(target))
    meta = next(reader)
    assert tuple(meta["size"]) == (640, 360) and meta["fps"] == 10.0
    first = np.frombuffer(next(reader), dtype=np.uint8)
    assert first.size == 640 * 360 * 3 and first.std() > 5  # a picture, not a blank frame
    reader.close()
    assert not list(tmp_path.glob(".*partial*"))  # the partial file became the video
    odd = subprocess.run([sys.executable, "-m", "gwangju_twin.cli", "record", "drone_free_zone", str(target),
                          "--size", "321x240"], capture_output=True, text=True, timeout=120)
    assert odd.returncode == 2 and odd.stderr.strip() == \
        "error: --size 321x240: width and height must be even for H.264 video"


def test_drone_free_zone_opens_on_the_real_gwangju_with_no_road_map(tmp_path: Path, monkeypatch) -> None:
    """Empty map cache: the dongs of Gwangju with Korean names, the airport control zone, corridors, drones."""
    from gwangju_twin import runner
    from gwangju_twin.viz.scene import ZONE_EDGE

    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path / "empty-cache"))
    model = runner.build_model(scenario.packaged()["drone_free_zone"])
    viewer = Viewer(lambda loop: model, size=(1600, 900))
    model.run_until(10 * 3600.0)
    viewer.render()
    basemap = viewer.scene.basemap
    assert basemap is not None
    placed = {label.ko for label in basemap.labels if label.district is False}
    assert {"오룡동", "대촌동", "월출동", "용전동"} <= placed  # the four dongs of the free zone are outlined
    names_on_screen = [label for label in basemap.labels if any(
        r.collidepoint(viewer.camera.point(*label.anchor_m)) for r in basemap._placed)]
    assert any(label.ko == "용전동" and label.en == "Yongjeon-dong" for label in names_on_screen)
    image = pygame.surfarray.array3d(viewer.screen)
    assert np.all(image == ZONE_EDGE["control_zone"], axis=2).sum() > 50  # the airport zone's edge is in view
    assert np.all(image == ZONE_EDGE["drone_free_zone"], axis=2).sum() > 500
    pygame.quit()


def test_a_stand_in_map_is_said_on_screen_and_there_is_no_gwangju_basemap(helsinki_map) -> None:
    from gwangju_twin import runner

    model = runner.build_model(scenario.packaged()["bitgreen_shuttles"], area="helsinki_test")
    viewer = Viewer(lambda loop: model, size=(1280, 720))
    viewer.render()
    assert viewer.scene.basemap is None  # Helsinki's roads are not drawn over Gwangju's dongs
    banner = pygame.surfarray.array3d(viewer.screen)[14:300, 12:24]
    assert np.all(banner == (250, 205, 80), axis=2).sum() > 100  # the yellow stand-in banner
    top_road_m = max(c[:, 1].max() for c in model.world.network.edge_coords_m)
    assert viewer.camera.point(0.0, top_road_m)[1] >= viewer._banner_bottom_px()  # no road under the banner
    pygame.quit()


def test_testbed_areas_on_one_stand_in_map_sit_side_by_side(helsinki_map) -> None:
    """testbed_day offline: Bitgreen and Cheomdan 3 each get their own copy of the map, never stacked."""
    from gwangju_twin import runner

    model = runner.build_model(scenario.packaged()["testbed_day"], area="helsinki_test")
    viewer = Viewer(lambda loop: model, size=(1600, 900))
    model.run_until(10.6 * 3600.0)
    viewer.render()
    scene = viewer.scene
    assert scene.place_dx["bitgreen"] == 0.0 and scene.place_dx["cheomdan3"] > 0.0
    markers = scene.markers()
    width = scene.place_dx["cheomdan3"] / 1.25
    x0 = min(c[:, 0].min() for c in model.world.network.edge_coords_m)
    for marker in markers:
        if marker.kind in ("shuttle", "sweeper", "collector"):
            copy = 1 if marker.name.startswith("cheomdan3_") else 0
            assert x0 + copy * 1.25 * width - 1 <= marker.x_m <= x0 + copy * 1.25 * width + width + 1, marker.name
    assert [t.split("\n")[0] for t, *_ in scene.place_titles] == [
        "빛그린산단 · Bitgreen industrial complex", "첨단3지구 · Cheomdan 3 district"]
    # each place's title (two lines above its roads) sits below the stand-in banners, whole on screen
    banners_px = viewer._banner_bottom_px()
    assert banners_px > 0
    for _, x_m, y_m in scene.place_titles:
        x, y = viewer.camera.point(x_m, y_m)
        top = y - 6 - viewer.fonts["small"].get_height() - viewer.fonts["title"].get_height()
        assert banners_px <= top and 0 <= x <= 1600, (banners_px, top, x)
    image = pygame.surfarray.array3d(viewer.screen)
    split = viewer.camera.point(x0 + 1.125 * width, 0.0)[0]
    assert np.all(image[:split] == ROAD, axis=2).sum() > 1000 and np.all(image[split:] == ROAD, axis=2).sum() > 1000
    pygame.quit()


def test_twin_record_testbed_day_on_the_stand_in_map(helsinki_map, tmp_path: Path) -> None:
    import imageio_ffmpeg

    target = tmp_path / "testbed.mp4"
    done = subprocess.run([sys.executable, "-m", "gwangju_twin.cli", "record", "testbed_day", str(target), "--area",
                           "helsinki_test", "--size", "1280x720", "--fps", "12", "--length", "1.5 s", "--start", "10 h"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert imageio_ffmpeg.count_frames_and_secs(str(target)) == (18, 1.5)
    meta = next(imageio_ffmpeg.read_frames(str(target)))
    assert tuple(meta["size"]) == (1280, 720) and meta["fps"] == 12.0 and meta["codec"] == "h264"


def test_a_toy_service_from_outside_the_package_is_drawn_and_charted(helsinki_map, monkeypatch, tmp_path: Path) -> None:
    """The toy plug-in (tests/data/toy_plugin), registered at test time: the viewer draws its stands
    and carts and charts its trips from what its ServiceView declares, with no change to viz/."""
    from gwangju_twin import plugins, runner
    from gwangju_twin.viz.panel import PANEL_W

    def forget() -> None:  # the registered plug-ins and the schema assembled from them
        plugins.plugins.cache_clear()
        scenario.spec_model.cache_clear()


    toy = Path(__file__).parent / "data" / "toy_plugin"
    site = tmp_path / "site"
    shutil.copytree(toy / "toy_carts", site / "toy_carts")
    info = site / "toy_carts-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-carts\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[gwangju_twin.services]\n90_carts = toy_carts:PLUGIN\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    forget()
    try:
        model = runner.build_model(toy / "toy.toml", area="helsinki_test")
        viewer = Viewer(lambda loop: model, size=(1280, 720), speed=600.0)
        for _ in range(10):
            viewer.advance(1.0)
        viewer.render()
        (chart,) = viewer.series.charts
        assert chart == "아이스크림 운행 · ice-cream trips (count)"
        assert len(viewer.series.charts[chart]["carts"][1]) >= 9
        pink = np.all(pygame.surfarray.array3d(viewer.screen) == (255, 105, 180), axis=2)
        panel = pink[1280 - PANEL_W:, :viewer.legend_top_px].sum()
        assert panel > 150  # the chart's line (and the service's dot) in the panel
        net = model.world.network
        for node in model.services[0].ends:
            x, y = viewer.camera.point(float(net.x_m[node]), float(net.y_m[node]))
            assert pink[x + 5, y]  # a stand (or a cart standing on it)
        assert {"cone A", "cone B"} <= set(viewer.labels.placed_text)  # the layer's labels
    finally:
        monkeypatch.undo()
        forget()
        pygame.quit()


def _map_changes(video: Path, fps: int, map_w: int, map_h: int, size: tuple[int, int] = (800, 450)) -> tuple[list[int], int]:
    """Pixels of the map (left of the panel, above the tiles) that change over each second of video,
    and over the first second. The video is decoded by ffmpeg to raw RGB in one process that ends
    before this returns (no pipes left open)."""
    import imageio_ffmpeg

    w, h = size
    decoded = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(video), "-f", "rawvideo",
                              "-pix_fmt", "rgb24", "-"], capture_output=True, check=True, timeout=300).stdout
    assert len(decoded) % (w * h * 3) == 0
    frames = [frame[:map_h, :map_w].astype(int)
              for frame in np.frombuffer(decoded, np.uint8).reshape(-1, h, w, 3)]

    def changed(a: np.ndarray, b: np.ndarray) -> int:
        return int((np.abs(a - b).sum(axis=2) > 30).sum())

    steps = [changed(frames[k * fps], frames[(k + 1) * fps]) for k in range(len(frames) // fps - 1)]
    return steps, changed(frames[0], frames[fps - 1])


@pytest.mark.parametrize("name", ["drone_free_zone", "testbed_day"])
def test_twin_record_with_its_defaults_is_alive_from_the_busy_hour(name: str, helsinki_map, tmp_path: Path) -> None:
    """Default speed and length (30 s), a small frame: the map changes in 90 % of the one-second steps
    and in the first second; the clip opens in an hour with at least a quarter of the busiest hour's
    movements (the services' own busy hours); the .srt beside it has the clock and both languages."""
    import re
    import tomllib

    from gwangju_twin import runner
    from gwangju_twin.viz.panel import PANEL_W, TILE_H
    from gwangju_twin.viz.timeline import Timeline

    target = tmp_path / f"{name}.mp4"
    area = ["--area", "helsinki_test"] if name == "testbed_day" else []
    done = subprocess.run([sys.executable, "-m", "gwangju_twin.cli", "record", name, str(target), *area,
                           "--size", "800x450", "--fps", "5"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and "ALSA" not in done.stdout and "pygame" not in done.stdout  # no library noise
    assert "150 frames, 30 s at 5 fps" in done.stdout
    steps, first = _map_changes(target, 5, 800 - PANEL_W, 450 - 90 - TILE_H)
    assert len(steps) == 29 and sum(s > 20 for s in steps) >= 0.9 * len(steps), steps
    assert first > 20
    cues = (tmp_path / f"{name}.srt").read_text(encoding="utf-8").split("\n\n")
    assert len(cues) == 30
    opening = re.match(r"1\n00:00:00,000 --> 00:00:01,000\n(\d\d):(\d\d)  (.+)\n(.+)", cues[0])
    assert opening and re.search("[가-힣]", opening[3]) and re.search("[a-z]{4}", opening[4]), cues[0]
    model = runner.build_model(scenario.packaged()[name], area="helsinki_test" if area else None)
    from gwangju_twin.plugins import plugin_of

    busy = Timeline.of([plugin_of(s).view(s) for s in model.services]).busy_per_hour
    assert busy[int(opening[1])] >= max(busy) / 4
    spec = tomllib.loads(Path(scenario.packaged()[name]).read_text(encoding="utf-8"))
    assert spec["scenario"]["name"] == name


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_labels_never_overlap_in_the_packaged_scenarios(size: tuple[int, int], helsinki_map, tmp_path: Path,
                                                        monkeypatch) -> None:
    """Every label on screen (sites, vertiports, corridors, zones, the basemap's names, the places'
    titles) overlaps no other label and no marker: 0 px2; each lies in the map's view; every site is
    labelled or said to be left out (by the stated priority)."""
    from gwangju_twin import runner
    from gwangju_twin.viz.labels import overlap_px2
    from gwangju_twin.viz.zones import SITE

    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path / "empty-cache"))  # drone_free_zone: the real Gwangju
    for name, path in sorted(scenario.packaged().items()):
        if name == "drone_free_zone":
            model = runner.build_model(path)
        else:
            monkeypatch.delenv("TWIN_CACHE_DIR")
            model = runner.build_model(path, area="helsinki_test")
            monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path / "empty-cache"))
        viewer = Viewer(lambda loop, m=model: m, size=size, overlay=True, fullscreen=False)
        viewer.render()
        labels = viewer.labels
        rects = [rect for _, rect in labels.placed]
        basemap = viewer.scene.basemap._placed if viewer.scene.basemap is not None else []
        titles = [rect for _, _, rect in viewer.scene._title_rects]
        assert overlap_px2(rects + basemap + titles) == 0, name
        assert sum(r.clip(m).width * r.clip(m).height for r in rects + basemap for m in labels.marks) == 0, name
        assert all(labels.view.contains(rect) for rect in rects), name
        on_screen = [(site, viewer.camera.point(*xy)) for site, xy in viewer.scene.sites_m
                     if labels.view.collidepoint(viewer.camera.point(*xy))]
        said = set(labels.placed_text) | set(labels.left_out)
        assert all(f"{site.name_ko} · {site.name_en}" in said for site, _ in on_screen), name
        for site, (x, y) in on_screen:  # labelled, or hidden with its label: no nameless diamond
            named = f"{site.name_ko} · {site.name_en}" in labels.placed_text
            assert named or _pixel(viewer, (x, y + 5)) != SITE, (name, site.id)
        assert len(rects) >= 3, name  # something is labelled
        model.close()
    pygame.quit()


def _texts_drawn(viewer: Viewer) -> list[str]:
    """The texts the viewer's panel and boxes draw from now on, in order."""
    drawn: list[str] = []
    original = viewer._text

    def spy(text: str, pos: tuple[int, int], font: str = "normal", colour=(235, 235, 240)) -> int:
        drawn.append(text)
        return original(text, pos, font, colour)

    viewer._text = spy
    return drawn


def test_exhibition_for_a_hall_quits_on_esc_and_q_hides_the_cursor_and_the_help_hint() -> None:
    """Exhibition mode: no cursor, no 'H: help' (no key but Esc and q works), an opaque panel, Esc
    and q quit; a stray key does nothing. The engineers' viewer shows the hint."""
    from gwangju_twin.viz.panel import PANEL_W

    for key in (pygame.K_ESCAPE, pygame.K_q):
        model = _model()
        viewer = Viewer(lambda loop, m=model: m, exhibit=True, fullscreen=False, size=(1000, 600))
        assert not pygame.mouse.get_visible()
        drawn = _texts_drawn(viewer)
        viewer.render()
        assert "H: help" not in drawn
        panel = pygame.surfarray.array3d(viewer.screen)[1000 - PANEL_W + 2:1000 - PANEL_W + 6, 300:310]
        assert np.all(panel == (10, 12, 18))  # opaque: the map's roads and zones never show through
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_h, mod=0, unicode="h", scancode=0))
        assert viewer._events() and not viewer.help  # ignored
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0))
        assert viewer._events() is False
        pygame.quit()
    model = _model()
    viewer = Viewer(lambda loop: model, size=(1000, 600))
    drawn = _texts_drawn(viewer)
    viewer.render()
    assert "H: help" in drawn and pygame.mouse.get_visible()
    pygame.quit()


def test_the_show_opens_in_the_busiest_hour_skips_quiet_hours_and_restarts_there() -> None:
    """Two shuttles 10-12, one more 14-16 (so 10:00 is the busiest hour): the exhibition opens at
    10:00 (on to the first minute something moves: 10:01), jumps from 12:00 to 14:00 with a card,
    and after 16:00 starts a fresh day there again; --start 14 h starts every loop at 14:00 sharp."""
    fleet = LOOP.replace('count = 1', 'count = 2').replace('windows = ["00:00-23:00"]', 'windows = ["10:00-12:00"]')
    fleet += fleet.replace('id = "loop"', 'id = "late"').replace('count = 2', 'count = 1').replace(
        '"10:00-12:00"', '"14:00-16:00"')
    world = synthetic.world(synthetic.line_graph(10, 100.0), {"depot": 1, "a": 1, "b": 11})
    spec = scenario.loads(synthetic.scenario_text(fleet, extra='[shuttles.supervision]\ndisengagement_rate = "0 / h"'))
    made: list[int] = []

    def make(loop: int) -> TwinModel:
        made.append(loop)
        return TwinModel(spec, world)

    viewer = Viewer(make, exhibit=True, fullscreen=False, size=(800, 500), speed=600.0)
    assert viewer.timeline.spans_s == ((36000.0, 43200.0), (50400.0, 57600.0))
    assert viewer.model.now_s == 36060.0 and viewer.card is None  # 10:00, on to the first minute that moves
    while viewer.model.now_s < 43200.0:
        viewer.advance(1.0)  # 600 simulated seconds a call
    assert viewer.model.now_s == 50400.0 and viewer.card[:2] == ("12:01", "14:00")  # 600 s steps from 10:01
    while viewer.loop == 0:
        viewer.advance(1.0)
    assert made == [0, 1] and viewer.model.now_s == 36060.0 and viewer.card[:2] == ("16:00", "10:01")
    pygame.quit()
    later = Viewer(make, exhibit=True, fullscreen=False, size=(800, 500), speed=600.0, start_s=14 * 3600.0)
    assert later.model.now_s == 50400.0
    while later.loop == 0:
        later.advance(1.0)
    assert later.model.now_s == 50400.0  # every loop starts at --start
    pygame.quit()
