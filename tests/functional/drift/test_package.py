"""The drift package is cheap to import: numpy / pandas / scipy load only when statistics run."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HEAVY = ("numpy", "pandas", "scipy", "pyarrow")
PROBE = """
import json, sys
import chalicelib.core.drift as drift
from chalicelib.core.drift import detectors, profile, result, stats# noqa: F401
config = drift.DriftConfig(alpha=0.01)
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))
"""


def test_importing_the_drift_modules_loads_no_heavy_library():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True)

    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))

    assert sorted(loaded & set(HEAVY)) == []
