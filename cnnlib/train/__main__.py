"""Entry point of ``python -m cnnlib.train`` (see :mod:`cnnlib.train.cli`)."""
import sys

from cnnlib.train.cli import main

sys.exit(main())
