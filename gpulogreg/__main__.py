"""``python -m gpulogreg``: the same command line as ``gpulogreg``."""

import sys

from .cli import main

sys.exit(main())
