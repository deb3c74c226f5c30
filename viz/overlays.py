"""What the viewer draws over the map and panel: the stand-in banners, the card of skipped quiet
hours, the caption, the followed agent's box and the help."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pygame
from gwangju_twin.viz.captions import caption_at
from gwangju_twin.viz.panel import PANEL_W
from gwangju_twin.viz.scene import LAYERS, Marker

if TYPE_CHECKING:
    from gwangju_twin.viz.app import Viewer

HELP = ["space  pause / play", "+ / -  speed 1x ... 1000x", ".      one step", "wheel  zoom", "drag   pan",
        "click  follow an agent", f"1-{len(LAYERS)}    layers: " + ", ".join(LAYERS), "F      fullscreen",
        "P      screenshot", "H      this help", "Esc q  quit"]


def draw_banner(viewer: Viewer) -> None:
    """On a stand-in map the screen says so, in Korean and English (left of the panel)."""
    y, usable = 10, viewer.screen.get_width() - PANEL_W - 36
    for line in viewer._banner_lines():
        text = viewer.fonts["normal"].render(line, True, (30, 24, 0))
        if text.get_width() > usable:
            text = pygame.transform.smoothscale(text, (usable, text.get_height()))
        pygame.draw.rect(viewer.screen, (250, 205, 80), text.get_rect(topleft=(12, y)).inflate(12, 6))
        viewer.screen.blit(text, (12, y))
        y += text.get_height() + 10


def draw_card(viewer: Viewer) -> None:
    """The quiet hours skipped: a card over the map, from and to."""
    width, height = viewer.screen.get_size()
    lines = [viewer.fonts["big"].render(f"{viewer.card[0]} → {viewer.card[1]}", True, (255, 255, 255)),
             viewer.fonts["normal"].render("조용한 시간은 건너뜁니다 · skipping the quiet hours", True, (210, 220, 235))]
    w, h = max(line.get_width() for line in lines) + 48, sum(line.get_height() for line in lines) + 36
    box = pygame.Rect(0, 0, w, h)
    box.center = ((width - PANEL_W) // 2, height // 2)
    pygame.draw.rect(viewer.screen, (10, 12, 18), box, border_radius=10)
    pygame.draw.rect(viewer.screen, (250, 205, 80), box, 2, border_radius=10)
    y = box.top + 14
    for line in lines:
        viewer.screen.blit(line, line.get_rect(midtop=(box.centerx, y)))
        y += line.get_height() + 8


def draw_caption(viewer: Viewer) -> None:
    """The exhibition caption: what one of the services is doing and why it matters."""
    shown = caption_at(viewer.scene.views, viewer.wall_s)
    if shown is None:
        return
    width, height = viewer.screen.get_size()
    usable = max(width - PANEL_W - 40, width // 2)  # a small frame: the caption goes under the panel
    lines = [viewer.fonts["title"].render(shown[0], True, (255, 255, 255)),
             viewer.fonts["normal"].render(shown[1], True, (210, 220, 235))]
    lines = [line if line.get_width() <= usable else pygame.transform.smoothscale(
        line, (usable, int(line.get_height() * usable / line.get_width()))) for line in lines]
    box_h = sum(line.get_height() for line in lines) + 24
    box = pygame.Surface((usable + 24, box_h), pygame.SRCALPHA)
    box.fill((10, 12, 18, 225))
    viewer.screen.blit(box, (8, height - box_h - 8))
    y = height - box_h + 4
    for line in lines:
        viewer.screen.blit(line, (20, y))
        y += line.get_height() + 4


def draw_agent_box(viewer: Viewer, marker: Marker) -> None:
    """What the followed agent is doing, below the banners (its service says what to show)."""
    lines = list(marker.view.describe(marker.agent, viewer.model.now_s)) if marker.view is not None else []
    lines = lines or [marker.name, f"{marker.kind}, {marker.state}"]
    top = viewer._banner_bottom_px() + 12
    pygame.draw.rect(viewer.screen, (10, 12, 18), pygame.Rect(12, top, 280, 22 * len(lines) + 12))
    for i, line in enumerate(lines):
        viewer._text(line, (22, top + 6 + 22 * i))


def draw_help(viewer: Viewer) -> None:
    box = pygame.Surface((420, 26 * len(HELP) + 20), pygame.SRCALPHA)
    box.fill((10, 12, 18, 235))
    width, height = viewer.screen.get_size()
    left, top = (width - PANEL_W - 420) // 2, (height - box.get_height()) // 2
    viewer.screen.blit(box, (left, top))
    for i, line in enumerate(HELP):
        viewer._text(line, (left + 16, top + 10 + 26 * i))
