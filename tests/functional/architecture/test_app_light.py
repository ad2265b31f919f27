"""Cold start: ``import app`` loads no heavy library and creates no AWS client."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HEAVY = ("pandas", "numpy", "sklearn", "scipy", "awswrangler", "pyarrow", "joblib", "boto3")

PROBE = """
import json, sys, time
started = time.perf_counter()
import botocore.session
created = []
original = botocore.session.Session.create_client
botocore.session.Session.create_client = lambda *a, **k: created.append(a[1]) or original(*a, **k)
import app
print(json.dumps({"seconds": time.perf_counter() - started, "clients": created,
                  "modules": sorted({m.split('.')[0] for m in sys.modules})}))
"""


def test_importing_app_loads_no_heavy_library_and_creates_no_client():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True,
                         check=True, env={"PATH": "", "AWS_DEFAULT_REGION": "us-east-1"})
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    assert probe["clients"] == []
    assert sorted(set(HEAVY) & set(probe["modules"])) == []
    assert probe["seconds"] < 1.5, probe["seconds"]  # generous: CI machines vary
