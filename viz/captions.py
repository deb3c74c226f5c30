"""What an exhibition visitor reads: one caption per service of the scenario, in Korean and
English, saying what it does and why it matters; shown in turn at the bottom of the screen.

Each service's plug-in writes its own caption from the scenario's config (its counts, its hours,
its kinds of drone), so a caption never tells of something the scenario does not have."""

from __future__ import annotations

from collections.abc import Sequence

from gwangju_twin.plugins import ServiceView

CAPTION_S = 10.0  # wall seconds each caption stays


def captions(views: Sequence[ServiceView]) -> list[tuple[str, str, ServiceView]]:
    """The captions (Korean, English, the service's view) of the services shown, in the order they
    run; two services with the same caption show it once."""
    found: dict[tuple[str, str], ServiceView] = {}
    for view in views:
        if view.caption_ko or view.caption_en:
            found.setdefault((view.caption_ko, view.caption_en), view)
    return [(ko, en, view) for (ko, en), view in found.items()]


def caption_at(views: Sequence[ServiceView], wall_s: float) -> tuple[str, str, ServiceView] | None:
    """The caption shown ``wall_s`` seconds into the show, or None when there is nothing to say."""
    shown = captions(views)
    return shown[int(wall_s // CAPTION_S) % len(shown)] if shown else None
