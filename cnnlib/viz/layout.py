"""The page's measurements that every figure is drawn to.

The book's text column is about 690 px wide on a desktop and figures are
saved at 100 dpi, so a figure drawn :data:`COLUMN_WIDTH` inches wide is shown
at its own size (a 9-point label stays 12 px tall) instead of being shrunk.
"""
from __future__ import annotations

__all__ = ["COLUMN_WIDTH", "MAX_PANELS_PER_ROW"]

COLUMN_WIDTH = 6.8
MAX_PANELS_PER_ROW = 4
