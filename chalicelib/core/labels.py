"""What a classifier's classes are, once sluice holds them: JSON scalars.

Training turns numpy/pandas labels into Python ones (``pipeline._plain_label``), so the classes
stored in ``metadata.json``, compared by the gate and returned by serving are text, whole numbers,
numbers or booleans, never numpy scalars.
"""

from __future__ import annotations

Label = str | int | float | bool
