"""`python -m pixelcnn_lib train|sample|evaluate ...`: see pixelcnn_lib.cli."""
import sys

from .cli import main

sys.exit(main())
