"""The API function's init in a fresh interpreter, as Lambda runs it: with ``SLUICE_PRELOAD=serving`` (the
API function's environment) ``import app`` imports the whole predict path and sends no request (a
SnapStart snapshot must not hold connections); without it ``import app`` stays light."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

# A fresh interpreter imports app.py as Lambda does; every request botocore would send is recorded and
# refused (an init must not open connections a snapshot would keep). Then the first prediction's imports:
# the model's own modules must already be there.
PROBE = """
import json, sys
import botocore.endpoint
sent = []
def refuse(self, request):
    sent.append(request.url)
    raise RuntimeError("no request at init")
botocore.endpoint.Endpoint._send = refuse
import app
from chalicelib.core.serving.warmup import predict_modules
from chalicelib.services import serving
print(json.dumps({"sent": sent, "preloaded": serving.PRELOADED,
                  "missing": [m for m in predict_modules() if m not in sys.modules],
                  "heavy": sorted({"sklearn", "pandas", "numpy", "scipy", "joblib"} & set(sys.modules))}))
"""


def _import_app(**env: str) -> dict:
    base = {"PATH": "", "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "x", "SLUICE_BUCKET": "b", "SLUICE_TABLE": "t"}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True,
                         env={**base, **env}, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_api_functions_init_imports_the_whole_predict_path_and_sends_no_request():
    probe = _import_app(SLUICE_PRELOAD="serving")
    assert probe["missing"] == []
    assert set(probe["preloaded"]) == {"imports", "warm_up", "clients"}
    assert probe["sent"] == []


def test_any_other_function_keeps_import_app_light():
    probe = _import_app(SLUICE_PRELOAD="")
    assert probe["preloaded"] is None and probe["heavy"] == []
