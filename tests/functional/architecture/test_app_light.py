"""Cold start: ``import app`` loads no heavy library and creates no AWS client."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HEAVY = ("pandas", "numpy", "sklearn", "scipy", "awswrangler", "pyarrow", "joblib", "boto3")

PROBE = """
import json, sys, time
started = time.process_time()
import botocore.session
created = []
original = botocore.session.Session.create_client
botocore.session.Session.create_client = lambda *a, **k: created.append(a[1]) or original(*a, **k)
import app
print(json.dumps({"seconds": time.process_time() - started, "clients": created,
                  "modules": sorted({m.split('.')[0] for m in sys.modules})}))
"""


def test_importing_app_loads_no_heavy_library_and_creates_no_client():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True,
                         check=True, env={"PATH": "", "AWS_DEFAULT_REGION": "us-east-1"})
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    assert probe["clients"] == []
    assert sorted(set(HEAVY) & set(probe["modules"])) == []
    # CPU seconds, not wall time: what the import costs, also on a machine busy with other tests
    assert probe["seconds"] < 1.5, probe["seconds"]
