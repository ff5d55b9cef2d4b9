"""Where cnnlib keeps downloaded files, and whether downloads are allowed."""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir", "downloads_allowed"]


def cache_dir(*parts: str) -> Path:
    """``$CNNLIB_DATA`` if set, else ``~/.cache/cnnlib``, joined with ``parts``."""
    root = Path(os.environ.get("CNNLIB_DATA") or Path.home() / ".cache" / "cnnlib")
    return root.joinpath(*parts)


def downloads_allowed(download: bool | None) -> bool:
    """An explicit ``download`` wins; otherwise ``CNNLIB_OFFLINE=1`` forbids downloads."""
    if download is not None:
        return bool(download)
    return os.environ.get("CNNLIB_OFFLINE", "0").lower() in ("0", "", "false", "no")
