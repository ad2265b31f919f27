"""The API and on_batch_object run with the ML layer, which has no pyarrow: serving must not need it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PROBE = r'''
import sys
class _NoPyarrow:  # as in the ML layer: pyarrow is not installed
    def find_spec(self, name, path=None, target=None):
        if name == "pyarrow" or name.startswith("pyarrow."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NoPyarrow())
import json, tempfile, datetime as dt
from pathlib import Path
import fastparquet, pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import FunctionTransformer
from chalicelib.core.training.pipeline import date_parts, to_float
from chalicelib.core.serving.batch_files import has_pyarrow, score_file
from chalicelib.core.serving.schema import Feature
assert not has_pyarrow()
tmp = Path(tempfile.mkdtemp())
df = pd.DataFrame({"x": [1.0, 2.0, 3.5, 4.0], "d": [dt.date(2025, 1, i + 1) for i in range(4)],
                   "y": [0, 1, 0, 1]})
parts = FunctionTransformer(date_parts, kw_args={"parts": ("day",)})
pre = ColumnTransformer([("x", FunctionTransformer(to_float), ["x"]), ("d", parts, ["d"])])
pipe = Pipeline([("pre", pre), ("m", LogisticRegression())])
pipe.fit(pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "d": pd.to_datetime(df["d"])}), df["y"])
feats = [Feature("x", "float"), Feature("d", "date")]
fastparquet.write(str(tmp / "in.parquet"), df.assign(d=pd.to_datetime(df["d"]).astype("datetime64[ns]")))
df.to_csv(tmp / "in.csv", index=False)
out = {}
for fmt in ("parquet", "csv"):
    out[fmt] = score_file(tmp / f"in.{fmt}", tmp / f"out.{fmt}", fmt, pipe, feats, chunk_rows=3)
from types import SimpleNamespace
from chalicelib.storage.capture import CaptureWriter
from chalicelib.services.serving import PredictionService
from chalicelib.core.settings import Settings
registry = SimpleNamespace(get_alias=lambda m, a: 1,
                           get_model_version=lambda m, v, **_: SimpleNamespace(artifact_sha256="x"))
loaded = SimpleNamespace(pipeline=pipe, metadata={"features": [{"name": "x", "type": "float"},
                                                               {"name": "d", "type": "date"}]})
service = PredictionService(registry_factory=lambda: registry, loader=lambda m, v, sha: loaded,
                            settings=Settings(capture_percent=0), capture=CaptureWriter())
answer = service.predict("m", {"records": [{"x": 1.0, "d": "2025-01-01"}]})
out["realtime"] = answer["predictions"]
print(json.dumps({"outcomes": out, "pyarrow_loaded": "pyarrow" in sys.modules,
                  "csv": (tmp / "out.csv").read_text().splitlines()[:2]}))
'''


@pytest.mark.slow
def test_predictions_and_batch_csv_and_parquet_work_when_pyarrow_cannot_be_imported():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True,
                         env={"PATH": "", "PYTHONPATH": str(ROOT), "AWS_DEFAULT_REGION": "us-east-1"})
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["outcomes"] == {"parquet": [4, 0], "csv": [4, 0], "realtime": [0]}
    assert result["pyarrow_loaded"] is False
    assert result["csv"][0] == "x,d,y,prediction,probability_0,probability_1,_error"
