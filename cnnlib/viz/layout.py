"""The page's measurements that every figure is drawn to, and the colours it uses.

The book's text column is about 690 px wide on a desktop and figures are
saved at 100 dpi, so a figure drawn :data:`COLUMN_WIDTH` inches wide is shown
at its own size (a 9-point label stays 12 px tall) instead of being shrunk.
Lines and bars that need colour take it from :data:`OKABE_ITO`, a palette
that colour-blind readers tell apart (Okabe and Ito, 2008).
"""
from __future__ import annotations

__all__ = ["COLUMN_WIDTH", "MAX_PANELS_PER_ROW", "OKABE_ITO"]

COLUMN_WIDTH = 6.8
MAX_PANELS_PER_ROW = 4
OKABE_ITO = {
    "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
    "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
}
