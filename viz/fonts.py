"""A font that has Hangul: NanumGothic (SIL Open Font License), shipped by the PyPI package
``koreanize-matplotlib``. It is located through the package's metadata, without importing the
package (which would reconfigure matplotlib)."""

from __future__ import annotations

import importlib.metadata
from functools import lru_cache
from pathlib import Path

from gwangju_twin.errors import TwinError

PACKAGE = "koreanize-matplotlib"


@lru_cache(maxsize=4)
def hangul_font_path(weight: str = "") -> Path:
    """Path of NanumGothic{weight}.ttf (weight "" or "Bold")."""
    name = f"NanumGothic{weight}.ttf"
    try:
        files = importlib.metadata.files(PACKAGE) or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name == name:
            return Path(str(file.locate()))
    raise TwinError(f"the Hangul font {name} was not found; install it with: pip install {PACKAGE}")
