"""One module per chapter, ``chNN.py``, each registering that chapter's exercises.

:func:`cnnlib.grading.list_exercises` imports them all.
"""
