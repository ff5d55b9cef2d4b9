"""Interactive explorers for the chapter notebooks (ipywidgets + matplotlib).

Each explorer draws its first view when created, so an executed notebook (and
the published book) shows a meaningful figure even without a running kernel.
"""
from cnnlib.widgets.kernel_explorer import kernel_explorer
from cnnlib.widgets.photo_browser import photo_browser
from cnnlib.widgets.sliding_window import sliding_window

__all__ = ["kernel_explorer", "photo_browser", "sliding_window"]
