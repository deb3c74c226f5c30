"""Charts for the HTML reports: matplotlib on its headless backend, a figure as a base64 PNG."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the headless backend


def png_base64(figure: plt.Figure) -> str:
    """The figure laid out, as a PNG (80 dpi) in base64 for an ``<img src="data:...">``; the figure is closed."""
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=80)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


__all__ = ["plt", "png_base64"]
