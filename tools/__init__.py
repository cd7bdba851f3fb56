"""Operator commands run against a deployed stack (or the local one): `python -m tools.<name>`.

The layer is put on the import path as Lambda puts it at /opt/python, so the commands run the
same provider clients as the functions.
"""

import sys
from pathlib import Path

_LAYER = str(Path(__file__).resolve().parent.parent / "layers" / "chatbridge")
if _LAYER not in sys.path:
    sys.path.insert(0, _LAYER)
