"""Cold start: the serving modules app.py imports (and the batch handler's module) load no heavy library."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HEAVY = ("pandas", "numpy", "sklearn", "scipy", "awswrangler", "pyarrow", "joblib", "boto3")

PROBE = """
import json, sys
import chalicelib.triggers.http.serving, chalicelib.services.serving, chalicelib.services.batch
import chalicelib.triggers.batch, chalicelib.core.serving.batch_files
import chalicelib.storage.capture, chalicelib.core.serving.schema, chalicelib.core.serving.frame
import chalicelib.core.serving.scoring, chalicelib.core.serving.cache
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))
"""


def test_importing_the_serving_modules_loads_no_heavy_library():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True,
                         check=True, env={"PATH": "", "AWS_DEFAULT_REGION": "us-east-1"})
    modules = json.loads(out.stdout.strip().splitlines()[-1])
    assert sorted(set(HEAVY) & set(modules)) == []
