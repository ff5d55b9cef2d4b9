"""Interactive explorers for the chapter notebooks (ipywidgets + matplotlib).

Each explorer draws its first view when created. In a running kernel it
computes every view on demand; for the book (``CNNLIB_STATIC_WIDGETS=1``) it
precomputes its views over a small grid of its controls with
:func:`precomputed`, so the published page works with no kernel (see
:mod:`cnnlib.widgets.static`).
"""
from cnnlib.widgets.architecture_explorer import architecture_explorer
from cnnlib.widgets.kernel_explorer import kernel_explorer
from cnnlib.widgets.photo_browser import photo_browser
from cnnlib.widgets.sliding_window import sliding_window
from cnnlib.widgets.static import precomputed, static_mode

__all__ = ["architecture_explorer", "kernel_explorer", "photo_browser", "precomputed", "sliding_window", "static_mode"]
