"""How agents and the services' layers look: marker sprites by colour and state, the mover of an
agent's state, and the drawing of a layer's lines, areas and points."""

from __future__ import annotations

import numpy as np
import pygame
from gwangju_twin.plugins import Layer, Mover, ServiceView

BACKGROUND = (18, 22, 30)
EMPTY_STATE = (40, 44, 56)  # the core of an agent in a state its service gave no colour (driving empty)
MARKER_RADIUS_PX, MARKER_CORE_PX = 7, 4  # an agent: a disc of its kind's colour, a dot of its state's
SPRITE_KEY = (255, 0, 255)  # the transparent colour of marker sprites (no kind or state is drawn in it)
UNKNOWN = Mover("agent", (200, 200, 200), "agent", "에이전트")


class MarkerSprites(dict):
    """An agent's marker by ``(colour, core)``, drawn once: the same pixels as :meth:`Scene.draw_marker`."""

    def __missing__(self, key: tuple[tuple[int, int, int], tuple[int, int, int]]) -> pygame.Surface:
        colour, core = key
        size = 2 * MARKER_RADIUS_PX + 1
        sprite = pygame.Surface((size, size))
        sprite.fill(SPRITE_KEY)
        sprite.set_colorkey(SPRITE_KEY)
        centre = (MARKER_RADIUS_PX, MARKER_RADIUS_PX)
        pygame.draw.circle(sprite, colour, centre, MARKER_RADIUS_PX)
        pygame.draw.circle(sprite, core, centre, MARKER_CORE_PX)
        self[key] = sprite
        return sprite


def mover_of(view: ServiceView, state: str) -> Mover:
    """How an agent of ``view`` in ``state`` looks (its default state's disc when the state is not declared)."""
    found = view.movers.get(state)
    if found is not None:
        return found
    base = view.movers.get(view.default_state) or next(iter(view.movers.values()), UNKNOWN)
    return Mover(base.kind, base.colour, base.legend_en, base.legend_ko)


class StateSprites(dict):
    """One service's sprite by state (looked up once per state, then a dict hit per agent)."""

    def __init__(self, view: ServiceView, sprites: MarkerSprites) -> None:
        super().__init__()
        self.view, self.sprites = view, sprites

    def __missing__(self, state: str) -> pygame.Surface:
        mover = mover_of(self.view, state)
        self[state] = sprite = self.sprites[(mover.colour, mover.core or EMPTY_STATE)]
        return sprite


def draw_layer(screen: pygame.Surface, layer: Layer, shapes: list[np.ndarray]) -> None:
    if layer.kind == "lines":
        for line in shapes:
            if len(line) >= 2:
                pygame.draw.lines(screen, layer.colour, False, line, layer.width_px)
        return
    if layer.kind == "areas":
        for ring in shapes:
            pygame.draw.polygon(screen, layer.colour, ring, layer.width_px)
        return
    size = layer.size_px
    for i, (x, y) in enumerate(shapes[0].astype(int).tolist()):
        colour = layer.colours[i] if i < len(layer.colours) else layer.colour
        if layer.shape == "square":
            half = size // 2
            pygame.draw.rect(screen, (60, 64, 76), pygame.Rect(x - half - 1, y - half - 1, size + 2, size + 2))
            pygame.draw.rect(screen, colour, pygame.Rect(x - half, y - half, size, size))
        elif layer.shape == "ring":
            pygame.draw.circle(screen, BACKGROUND, (x, y), size)
            pygame.draw.circle(screen, colour, (x, y), size, 2)
        else:
            pygame.draw.circle(screen, colour, (x, y), size)
