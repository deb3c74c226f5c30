"""The map that stays still between camera moves, drawn once into a surface: basemap, zones,
roads, the services' still layers and the sites, with the labels of all of these placed by priority
(drawn each frame over the live layers), and the places' titles."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pygame
import shapely
import shapely.ops
from gwangju_twin.viz.camera import Camera
from gwangju_twin.viz.labels import LabelPlacer
from gwangju_twin.viz.marks import BACKGROUND, draw_layer
from gwangju_twin.viz.zones import SITE, ZONE_EDGE, ZONE_FILL, ZONE_OTHER, ZONE_TEXT

if TYPE_CHECKING:
    from gwangju_twin.viz.scene import Scene


def still_map(scene: Scene, size: tuple[int, int], camera: Camera, top_px: int) -> tuple[pygame.Surface, LabelPlacer]:
    """The map that does not move, drawn once per camera: basemap, zones, roads, the services'
    still layers and the sites; and the labels of all of these, placed (drawn each frame)."""
    screen = pygame.Surface(size)
    if pygame.display.get_surface() is not None:
        screen = screen.convert()
    screen.fill(BACKGROUND)
    width, height = size
    view_rect = pygame.Rect(0, top_px, width - scene.right_px, height - top_px - scene.bottom_px)
    labels = LabelPlacer(screen, view_rect, scene.fonts["small"], BACKGROUND, scene._rendered)
    layers = [(view, layer, scene._layer_px(camera, view, layer)) for view in scene.views
              for layer in view.layers() if not layer.live] if scene.visible["service_layers"] else []
    sites = [(site, camera.point(*xy_m)) for site, xy_m in scene.sites_m] if scene.visible["sites"] else []
    labels.marks += [pygame.Rect(x - 7, y - 7, 14, 14) for _, (x, y) in sites]
    for _, layer, shapes in layers:
        if layer.kind == "points":
            r = layer.size_px
            labels.marks += [pygame.Rect(x - r, y - r, 2 * r + 1, 2 * r + 1) for x, y in shapes[0].astype(int).tolist()]
    place_titles(scene, camera, labels)
    zones = zone_shapes(scene, size, camera) if scene.visible["zones"] else []
    ask_labels(scene, labels, zones, layers, sites)
    if scene.basemap is not None and scene.visible["basemap"]:
        labels.soft = scene.basemap.boxes(camera, size)
    labels.place(at_least=1)
    if scene.basemap is not None and scene.visible["basemap"]:
        outside = [pygame.Rect(view_rect.right, 0, width, height), pygame.Rect(0, 0, width, top_px),
                   pygame.Rect(0, view_rect.bottom, width, height)]
        outside = [rect for rect in outside if rect.width and rect.height]
        scene.basemap.draw(screen, camera, labels.taken, labels.marks + labels.taken + outside)
    labels.place()
    if zones:
        overlay = pygame.Surface(size, pygame.SRCALPHA)
        for kind, points, _, _ in zones:
            pygame.draw.polygon(overlay, ZONE_FILL.get(kind, ZONE_OTHER[0]), points)
            pygame.draw.polygon(overlay, ZONE_EDGE.get(kind, ZONE_OTHER[1]), points, 2)
        screen.blit(overlay, (0, 0))
    if scene.visible["roads"]:
        screen.blit(scene._roads(size, camera), (0, 0))
    for _, layer, shapes in sorted(layers, key=lambda vls: vls[1].kind != "areas"):
        draw_layer(screen, layer, shapes)
    named = set(labels.placed_text)
    for site, (x, y) in sites:  # a site whose name found no place is hidden with it: no nameless diamonds
        if f"{site.name_ko} · {site.name_en}" in named:
            pygame.draw.polygon(screen, SITE, [(x, y - 7), (x + 6, y), (x, y + 7), (x - 6, y)])
    return screen, labels


def ask_labels(scene: Scene, labels: LabelPlacer, zones: list, layers: list, sites: list) -> None:
    for kind, _, inside, spec in zones:
        if inside is not None:
            centre = labels.view.center
            at = shapely.ops.nearest_points(inside.boundary, shapely.Point(centre))[0]
            labels.ask(f"{spec.name_ko} · {spec.name_en}", (int(at.x), int(at.y)), ZONE_TEXT.get(kind, ZONE_OTHER[2]),
                       inside=inside)
    for _, layer, shapes in layers:
        if layer.kind == "lines":
            for text, line in zip(layer.labels, shapes):
                if text and len(line) >= 2:
                    labels.ask(text, None, layer.colour, priority=layer.priority, along=line)
        elif layer.kind == "points":
            for text, (x, y) in zip(layer.labels, shapes[0].astype(int).tolist()):
                if text:
                    labels.ask(text, (x, y), (235, 235, 240), priority=layer.priority, clear_px=layer.size_px + 3)
    for site, (x, y) in sites:
        labels.ask(f"{site.name_ko} · {site.name_en}", (x, y), (235, 235, 240), priority=2)


def place_titles(scene: Scene, camera: Camera, labels: LabelPlacer) -> None:
    """Each place's title over its roads; titles side by side that would overlap move apart."""
    blocks = []
    for title, x_m, y_m in scene.place_titles:
        name, _, where = title.partition("\n")
        x, y = camera.point(x_m, y_m)
        block = []
        for text, font in ((where, "small"), (name, "title")):
            rect = pygame.Rect((0, 0), scene.fonts[font].size(text))
            rect.midbottom = (x, y - 6)
            block.append((text, font, rect))
            y = rect.top
        blocks.append(block)
    blocks.sort(key=lambda b: b[1][2].centerx)
    for left, right in zip(blocks, blocks[1:]):
        overlap = max(r.right for _, _, r in left) + 12 - min(r.left for _, _, r in right)
        if overlap > 0:
            for _, _, rect in left:
                rect.move_ip(-(overlap // 2) - 1, 0)
            for _, _, rect in right:
                rect.move_ip(overlap - overlap // 2, 0)
    scene._title_rects = [item for block in blocks for item in block]
    labels.taken += [rect for _, _, rect in scene._title_rects]


def draw_titles(scene: Scene, screen: pygame.Surface) -> None:
    for text, font, rect in scene._title_rects:
        colour = (250, 205, 80) if font == "title" else (200, 170, 90)
        screen.blit(scene.fonts[font].render(text, True, colour), rect)


def zone_shapes(scene: Scene, size: tuple[int, int], camera: Camera) -> list:
    """Zones in view as (kind, screen points, where a name fits inside or None, spec)."""
    view = shapely.box(0, 0, *size)
    shown = []
    for kind, ring, spec in scene.zones:
        points = camera.to_screen(ring)
        polygon = shapely.Polygon(points)
        if not view.intersects(polygon):
            continue
        inside = polygon.buffer(-6).intersection(view)
        shown.append((kind, points, None if inside.is_empty else inside, spec))
    return shown
