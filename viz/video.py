"""A video of a scenario for the hall: rendered headless frame by frame at a fixed simulated step,
with the exhibition captions, and encoded to H.264 MP4 by the ffmpeg that the ``imageio-ffmpeg``
wheel ships (nothing to install). The file appears only when complete (written beside, then renamed)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from gwangju_twin.errors import TwinError
from gwangju_twin.model import TwinModel


def record_video(make_model: Callable[[int], TwinModel], target: Path, *, size: tuple[int, int], fps: int,
                 speed: float, seconds: float) -> int:
    """Render ``seconds`` of video at ``fps`` frames a second, each frame ``speed / fps`` simulated
    seconds after the last; returns the number of frames written."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # headless unless a display was asked for
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    import imageio_ffmpeg
    import pygame
    from gwangju_twin.viz.app import Viewer

    if size[0] % 2 or size[1] % 2:
        raise TwinError(f"--size {size[0]}x{size[1]}: width and height must be even for H.264 video")
    frames = max(1, round(seconds * fps))
    partial = target.with_name(f".{target.stem}.partial{target.suffix}")
    target.parent.mkdir(parents=True, exist_ok=True)
    viewer = Viewer(make_model, size=size, speed=speed, overlay=True, fullscreen=False, exhibit=True)
    writer = imageio_ffmpeg.write_frames(str(partial), size, fps=fps, codec="libx264", pix_fmt_out="yuv420p",
                                         quality=7, macro_block_size=2, ffmpeg_log_level="error")
    writer.send(None)  # start the encoder
    try:
        for _ in range(frames):
            viewer.advance(1.0 / fps)
            viewer.render()
            writer.send(pygame.image.tobytes(viewer.screen, "RGB"))
    finally:
        writer.close()
        pygame.quit()
    partial.replace(target)
    return frames
