"""Code paths of ML-layer functions run without pyarrow and awswrangler (they are not in that layer).

Each probe calls a real code path of a function deployed with the ML layer inside the Lambda-like
sandbox (deployment package + ML layer + the runtime's boto3; nothing from this virtual environment).
A probe passes when the call does not fail for want of pyarrow or awswrangler; any other error (the
probe has no AWS behind it) is fine. Probes marked xfail are known gaps of the feature that owns the
code (docs/deploy.md, "Package size"): strict, so a fix turns them red until the mark is removed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.functional.infra.test_lambda_sandbox import LAYER_ZIP, ROOT, _extract

PROBES = {
    "train reads a curated dataset version": (
        "from chalicelib.storage.parquet import read_s3_prefix\n"
        "read_s3_prefix('s3://sluice-probe/curated/d/dataset_version=1/')"),
    "on_dataset_version profiles a curated dataset version": (
        "from types import SimpleNamespace\n"
        "from chalicelib.services.drift import _dataset_profile\n"
        "_dataset_profile('s3://sluice-probe/curated/d/dataset_version=1/',\n"
        "                 SimpleNamespace(features={'a': None}, feature_types={'a': 'numeric'}))"),
    "on_batch_object reads a Parquet input": (
        "import fastparquet, pandas as pd, pathlib, tempfile\n"
        "from chalicelib.core.serving.batch_files import _read_parquet\n"
        "path = pathlib.Path(tempfile.mkdtemp()) / 'in.parquet'\n"
        "fastparquet.write(str(path), pd.DataFrame({'a': [1.0, 2.0]}))\n"
        "list(_read_parquet(path, 10))"),
    "the API hands contract inference to the contract_inference function": (
        "import os\n"
        "os.environ['SLUICE_INVOKE_MODE'] = 'lambda'\n"
        "from chalicelib.services.contracts import suggest_contract\n"
        "suggest_contract('d', 'raw/d/x.csv')"),
    "on_label_object reads a Parquet label file": (
        "import fastparquet, pandas as pd, pathlib, tempfile\n"
        "path = pathlib.Path(tempfile.mkdtemp()) / 'labels.parquet'\n"
        "fastparquet.write(str(path), pd.DataFrame({'request_id': ['r1'], 'label': [1]}))\n"
        "assert pd.read_parquet(path)['label'].tolist() == [1]"),
    "on_label_object writes feedback rows as Parquet": (
        "import datetime as dt, pathlib, tempfile\n"
        "from chalicelib.core.datasets.feedback import CaptureSource, FeedbackColumns\n"
        "from chalicelib.core.datasets.feedback import feedback_frame, join_labels\n"
        "from chalicelib.core.parquet import write_file\n"
        "line = {'request_id': 'r', 'record_index': 0, 'time': '2026-07-01T00:00:00.000Z',\n"
        "        'input': {'a': 1.5, 'b': 'x', 'c': True, 'd': 3}}\n"
        "join = join_labels({('r', 0): 1}, [(CaptureSource('k', None), line)])\n"
        "frame = feedback_frame(join, FeedbackColumns(('a', 'b', 'c', 'd'), 'y'), dt.datetime(2026, 7, 2))\n"
        "write_file(pathlib.Path(tempfile.mkdtemp()) / 'f.parquet', [frame])"),
    "on_label_object hands feedback validation to process_feedback": (
        "import os\n"
        "os.environ['SLUICE_INVOKE_MODE'] = 'lambda'\n"
        "from chalicelib.core.settings import get_settings\n"
        "from chalicelib.services.feedback import process\n"
        "from chalicelib.storage.s3 import StoredObject\n"
        "process(StoredObject('b', 'feedback/m/x.parquet', 'v', 'e', 1), 'm-feedback', {}, get_settings())"),
}
KNOWN_GAPS = {
}
RUNNER = """
import json, os, sys, traceback, warnings
sys.path[:0] = json.loads(sys.argv[1])
warnings.simplefilter("ignore")
os.environ.update(AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x",
                  AWS_ENDPOINT_URL="http://127.0.0.1:9", AWS_MAX_ATTEMPTS="1", SLUICE_BUCKET="sluice-probe")
results = {}
for name, code in json.loads(sys.argv[2]).items():
    try:
        exec(compile(code, name, "exec"), {})
        results[name] = "ok"
    except ModuleNotFoundError as exc:
        results[name] = f"missing {exc.name}" if exc.name in ("pyarrow", "awswrangler") or (
            exc.name or "").startswith("pyarrow.") else f"error {exc!r}"
    except Exception as exc:
        results[name] = "ok (no AWS here: %s)" % type(exc).__name__
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, str]:
    if not LAYER_ZIP.exists():
        pytest.skip("the ML layer is built by `make layers`")
    code = _extract(ROOT / "build" / "dev" / "deployment.zip", ROOT / "build" / "sandbox" / "code")
    layer = _extract(LAYER_ZIP, ROOT / "build" / "sandbox" / "ml-layer")
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    runtime = tmp_path_factory.mktemp("runtime")
    for name in ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six.py"):
        (runtime / name).symlink_to(site / name)
    paths = json.dumps([str(code), str(layer / "python"), str(runtime)])
    out = subprocess.run([sys.executable, "-I", "-S", "-c", RUNNER, paths, json.dumps(PROBES)],
                         capture_output=True, text=True, timeout=300, cwd="/")
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("probe", [
    pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[name])) if name in KNOWN_GAPS
    else name for name in PROBES])
def test_ml_layer_code_path_needs_neither_pyarrow_nor_awswrangler(outcomes, sam_template, probe):
    assert outcomes[probe].startswith("ok"), f"{probe}: {outcomes[probe]}"
