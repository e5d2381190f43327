"""``python -m gpulogreg.cli``: the same command line as ``gpulogreg``."""

import sys

from . import main

sys.exit(main())
