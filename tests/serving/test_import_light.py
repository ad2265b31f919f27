"""Cold start: the serving modules app.py imports (and the batch handler's module) load no heavy library."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "numpy", "sklearn", "scipy", "awswrangler", "pyarrow", "joblib", "boto3")

PROBE = """
import json, sys
import chalicelib.api.serving, chalicelib.serving.service, chalicelib.serving.batch
import chalicelib.serving.capture, chalicelib.serving.schema, chalicelib.serving.frame
import chalicelib.serving.scoring, chalicelib.serving.cache
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))
"""


def test_importing_the_serving_modules_loads_no_heavy_library():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True,
                         check=True, env={"PATH": "", "AWS_DEFAULT_REGION": "us-east-1"})
    modules = json.loads(out.stdout.strip().splitlines()[-1])
    assert sorted(set(HEAVY) & set(modules)) == []
