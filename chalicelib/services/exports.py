"""Export a registered version for MLflow, SageMaker or skops (``POST /models/{m}/versions/{v}/exports``).

The artifact is loaded only after its SHA-256 matches the registry's record (as serving loads it), then
written in the asked format once to ``exports/{model}/{version}/{format}/…`` (a later request reuses that
object: an export never changes) and handed out through a presigned GET URL. Every export is audited.

Portable: sluice's pipelines call three preprocessing functions of
:mod:`chalicelib.core.training.pipeline` (``to_float``, ``to_strings``, ``date_parts``). An export must
load where sluice is not installed, so those functions travel with it as a small module,
``sluice_transforms.py`` (their source, copied at export), and the exported pipeline refers to that
module instead. A pipeline that refers to anything else of sluice's is refused (``export_unsupported``).
"""

from __future__ import annotations

import copy
import inspect
import pickle
import pickletools
import sys
import types
from typing import Any

from chalicelib.core.errors import BadRequestError, SluiceError
from chalicelib.core.registry.export import (
    FORMATS,
    MEDIA_TYPE,
    ExportSource,
    mlflow_files,
    sagemaker_files,
    skops_files,
    tar_gz,
)
from chalicelib.services.registry import check_name, check_version, get_registry
from chalicelib.storage import artifacts, layout, s3

URL_SECONDS = 900
MLFLOW_VERSION = "3.18.0"  # the MLmodel format written (tested with this mlflow's own loader)
PORTABLE_MODULE = "sluice_transforms"
PORTABLE_FUNCTIONS = ("to_float", "to_strings", "date_parts")
PIPELINE_MODULE = "chalicelib.core.training.pipeline"


class ExportUnsupportedError(SluiceError):
    """The pipeline refers to code of sluice's that an export cannot carry."""

    status = 422
    code = "export_unsupported"


def export_version(model: str, version: Any, fmt: Any, *, actor: str) -> dict[str, Any]:
    """The export of ``model`` ``version`` in ``fmt``: key, SHA-256 of the export, a presigned GET URL."""
    model, number = check_name(model), check_version(version)
    if fmt not in FORMATS:
        raise BadRequestError(f"format must be one of {', '.join(FORMATS)}", code="invalid_format")
    registry = get_registry()
    record = registry.get_model_version(model, number, with_aliases=False)
    key = layout.export_key(model, number, fmt)
    created = None
    if not s3.exists(key):
        loaded = artifacts.load_model(model, number, record.artifact_sha256)  # SHA-256 checked first
        created = s3.put_bytes_once(key, bundle(fmt, loaded), content_type=MEDIA_TYPE[fmt])
    stored = created or s3.head(key)
    if created:
        registry.append_audit(model, "model_exported", actor=actor, version=number,
                              details={"format": fmt, "key": key, "sha256": stored.sha256})
    return {"model": model, "version": number, "format": fmt, "key": key, "sha256": stored.sha256,
            "size": stored.size, "artifact_sha256": record.artifact_sha256,
            "url": s3.presigned_get_url(key, expires_in=URL_SECONDS), "expires_in": URL_SECONDS}


def bundle(fmt: str, loaded: artifacts.LoadedModel) -> bytes:
    """The export's bytes: a gzipped tar of the format's files."""
    source = export_source(loaded)
    pipeline = portable(loaded.pipeline)
    code = {f"{PORTABLE_MODULE}.py": portable_source().encode()}
    if fmt == "mlflow":
        return tar_gz(mlflow_files(source, _pickled(pipeline), code, MLFLOW_VERSION), folder="model")
    if fmt == "sagemaker":
        return tar_gz(sagemaker_files(source, _pickled(pipeline), code))
    import skops.io

    body = bytes(skops.io.dumps(pipeline))
    return tar_gz(skops_files(source, body, code, sorted(skops.io.get_untrusted_types(data=body))))


def export_source(loaded: artifacts.LoadedModel) -> ExportSource:
    meta = loaded.metadata
    libraries = dict(meta.get("libraries") or {})
    libraries.setdefault("scipy", _scipy_version())
    return ExportSource(model=loaded.model, version=loaded.version, sha256=loaded.sha256,
                        task=str(meta.get("task")), target=str(meta.get("target")),
                        features=[dict(f) for f in meta.get("features") or []],
                        classes=meta.get("classes"), libraries=libraries,
                        created_at=str(meta.get("created_at") or ""))


def portable_source() -> str:
    """``sluice_transforms.py``: the preprocessing functions' source, as this sluice runs them."""
    from chalicelib.core.training import pipeline

    head = [f'"""Preprocessing functions of a sluice pipeline, copied from {PIPELINE_MODULE} when the model',
            'was exported: the exported pipeline calls them from here (numpy and pandas only)."""', "",
            "from __future__ import annotations", "",
            f"_PANDAS_PART = {pipeline._PANDAS_PART!r}", ""]
    return "\n".join(head + [inspect.getsource(getattr(pipeline, name)) for name in PORTABLE_FUNCTIONS])


def portable_module() -> types.ModuleType:
    """``sluice_transforms`` as a module of this process (pickle and skops name functions by module)."""
    module = sys.modules.get(PORTABLE_MODULE)
    if module is None:
        module = types.ModuleType(PORTABLE_MODULE)
        exec(compile(portable_source(), f"{PORTABLE_MODULE}.py", "exec"), module.__dict__)  # our own source
        sys.modules[PORTABLE_MODULE] = module
    return module


def portable(pipeline: Any) -> Any:
    """A copy of ``pipeline`` whose FunctionTransformers call ``sluice_transforms`` instead of sluice."""
    from sklearn.preprocessing import FunctionTransformer

    module = portable_module()
    copied = copy.deepcopy(pipeline)
    for step in _estimators(copied):
        if isinstance(step, FunctionTransformer):
            for attribute in ("func", "inverse_func"):
                func = getattr(step, attribute)
                if getattr(func, "__module__", "") == PIPELINE_MODULE and func.__name__ in PORTABLE_FUNCTIONS:
                    setattr(step, attribute, getattr(module, func.__name__))
    return copied


def native(pipeline: Any) -> Any:
    """``pipeline`` with FunctionTransformers that call ``sluice_transforms`` (an export brought back by
    an import) calling sluice's own functions again, as the pipelines sluice trains do (in place)."""
    from sklearn.preprocessing import FunctionTransformer

    from chalicelib.core.training import pipeline as own

    for step in _estimators(pipeline):
        if isinstance(step, FunctionTransformer):
            for attribute in ("func", "inverse_func"):
                func = getattr(step, attribute)
                if getattr(func, "__module__", "") == PORTABLE_MODULE and func.__name__ in PORTABLE_FUNCTIONS:
                    setattr(step, attribute, getattr(own, func.__name__))
    return pipeline


def _estimators(root: Any) -> list[Any]:
    """``root`` and every estimator nested in it (pipelines, column transformers, their fitted copies)."""
    found, stack, seen = [], [root], set()
    while stack:
        item = stack.pop()
        if id(item) in seen or not hasattr(item, "get_params"):
            continue
        seen.add(id(item))
        found.append(item)
        stack.extend(v for v in item.get_params(deep=False).values() if hasattr(v, "get_params"))
        for name in ("steps", "transformers", "transformers_"):
            stack.extend(part[1] for part in getattr(item, name, None) or [] if len(part) > 1)
    return found


def _pickled(pipeline: Any) -> bytes:
    body = pickle.dumps(pipeline, protocol=pickle.DEFAULT_PROTOCOL)
    strings = {arg for _, arg, _ in pickletools.genops(body) if isinstance(arg, str)}
    leaks = sorted(s for s in strings if s.startswith("chalicelib"))
    if leaks:
        raise ExportUnsupportedError(f"the pipeline refers to sluice code an export cannot carry: "
                                     f"{', '.join(leaks)}")
    return body


def _scipy_version() -> str:
    import scipy

    return str(scipy.__version__)
