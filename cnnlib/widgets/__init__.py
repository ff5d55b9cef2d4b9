"""Interactive explorers for the chapter notebooks (ipywidgets + matplotlib).

Each explorer draws its first view when created, so an executed notebook (and
the published book) shows a meaningful figure even without a running kernel.
"""
from cnnlib.widgets.photo_browser import photo_browser

__all__ = ["photo_browser"]
