"""A video of a scenario for the hall: rendered headless frame by frame at a fixed simulated step,
with the exhibition captions, and encoded to H.264 MP4 by the ffmpeg that the ``imageio-ffmpeg``
wheel ships (nothing to install). It opens in the scenario's busiest hour (or ``start_s``) and
skips the quiet hours, as the exhibition does. Beside the video, ``.srt`` subtitles: one cue a
second of video with the simulated clock and the caption in Korean and English. Both files appear
only when complete (written beside, then renamed)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from gwangju_twin.errors import TwinError
from gwangju_twin.model import TwinModel


def record_video(make_model: Callable[[int], TwinModel], target: Path, *, size: tuple[int, int], fps: int,
                 speed: float, seconds: float, start_s: float | None = None) -> tuple[int, float]:
    """Render ``seconds`` of video at ``fps`` frames a second, each frame ``speed / fps`` simulated
    seconds after the last (less while the director is close up), and its subtitles (``target`` with
    ``.srt``); returns the frames written and the simulated seconds they show."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # headless unless a display was asked for
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import imageio_ffmpeg
    import pygame
    from gwangju_twin.viz.app import Viewer
    from gwangju_twin.viz.captions import caption_at
    from gwangju_twin.viz.timeline import clock

    if size[0] % 2 or size[1] % 2:
        raise TwinError(f"--size {size[0]}x{size[1]}: width and height must be even for H.264 video")
    frames = max(1, round(seconds * fps))
    partial = target.with_name(f".{target.stem}.partial{target.suffix}")
    subtitles = target.with_suffix(".srt")
    partial_srt = subtitles.with_name(f".{subtitles.stem}.partial.srt")
    target.parent.mkdir(parents=True, exist_ok=True)
    viewer = Viewer(make_model, size=size, speed=speed, overlay=True, fullscreen=False, exhibit=True, start_s=start_s)
    writer = imageio_ffmpeg.write_frames(str(partial), size, fps=fps, codec="libx264", pix_fmt_out="yuv420p",
                                         quality=7, macro_block_size=2, ffmpeg_log_level="error")
    writer.send(None)  # start the encoder
    said: list[tuple[str, str, str]] = []  # one a second of video: (clock, Korean, English)
    shown_s, last_s = 0.0, viewer.model.now_s
    try:
        for frame in range(frames):
            if frame % fps == 0:
                shown = caption_at(viewer.scene.views, viewer.wall_s)
                said.append((clock(viewer.model.now_s), *(shown[:2] if shown else ("", ""))))
            viewer.render()
            writer.send(pygame.image.tobytes(viewer.screen, "RGB"))
            viewer.advance(1.0 / fps)
            shown_s += max(viewer.model.now_s - last_s, 0.0)  # a new loop starts again: count what was shown
            last_s = viewer.model.now_s
    finally:
        writer.close()
        pygame.quit()
    partial_srt.write_text(srt(said, frames / fps), encoding="utf-8")
    partial.replace(target)
    partial_srt.replace(subtitles)
    return frames, shown_s


def srt(said: list[tuple[str, str, str]], length_s: float) -> str:
    """SubRip cues, one a second: the simulated clock with the Korean caption, then the English."""
    cues = []
    for i, (at, ko, en) in enumerate(said):
        start_s, end_s = float(i), min(float(i + 1), length_s)
        text = f"{at}  {ko}\n{en}" if ko or en else at
        cues.append(f"{i + 1}\n{_stamp(start_s)} --> {_stamp(end_s)}\n{text}\n")
    return "\n".join(cues)


def _stamp(t_s: float) -> str:
    ms = round(t_s * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"
