"""Pure: an uploaded model's bytes → the fitted scikit-learn object, with nothing untrusted run.

- **skops**: every type the file names is listed from skops' own tree of the file (what ``skops.io.load``
  would build) before anything is constructed; a type outside
  :data:`~chalicelib.core.imports.trusted.TRUSTED_TYPES` refuses the file with its name
  (``import_untrusted_type``). Then ``skops.io.loads`` builds it, told to trust exactly those types.
- **pickle** (a pickle or joblib file, or MLflow's ``pickle``/``cloudpickle`` serialisation): unpickling
  runs whatever the file says, so the service calls :func:`load_pickled` only for an import an approver
  created (the route is the check; the audit log names them).

scikit-learn's warning that a file was saved by another version is kept (``warnings``), not fatal: the
holdout evaluation and the gate judge whether the model still works.
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from dataclasses import dataclass, field
from typing import Any

from chalicelib.core.imports.errors import ImportInvalidError, UntrustedTypeError
from chalicelib.core.imports.trusted import untrusted


@dataclass
class Loaded:
    model: Any  # the fitted scikit-learn estimator or pipeline (untyped library)
    types: list[str] = field(default_factory=list)  # every type a skops file named (empty for pickle)
    warnings: list[dict[str, str]] = field(default_factory=list)


def skops_types(body: bytes) -> list[str]:
    """Every type (``module.name``) a skops file names, as skops' loader would build them, sorted."""
    from skops.io._audit import get_tree
    from skops.io._utils import LoadContext

    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            schema = json.loads(archive.read("schema.json"))
            tree = get_tree(schema, LoadContext(src=archive, protocol=schema["protocol"]), trusted=None)
            return sorted(_types_in(tree, set()))
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        raise ImportInvalidError(f"the file is not a skops file ({type(exc).__name__})",
                                 code="import_unreadable") from exc


def _types_in(node: Any, seen: set[int]) -> set[str]:
    from skops.io._audit import Node, get_module

    if id(node) in seen:
        return set()
    seen.add(id(node))
    found = {f"{node.module_name}.{node.class_name}"}
    for child in node.children.values():
        items = (child if isinstance(child, list) else list(child.values()) if isinstance(child, dict)
                 else [child])
        for item in items:
            if isinstance(item, Node):
                found |= _types_in(item, seen)
            elif type(item) is type:
                found.add(f"{get_module(item)}.{item.__name__}")
    return found


def load_skops(body: bytes) -> Loaded:
    """The object of a skops file whose every type is trusted; ``import_untrusted_type`` otherwise."""
    import skops.io

    types = skops_types(body)
    refused = untrusted(types)
    if refused:
        raise UntrustedTypeError(f"the file names type(s) sluice does not trust: {', '.join(refused)}",
                                 details={"types": refused})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = skops.io.loads(body, trusted=types)
        except Exception as exc:  # a malformed file of trusted types: skops raises many kinds
            raise ImportInvalidError(f"skops could not load the file ({type(exc).__name__})",
                                     code="import_unreadable") from exc
    return Loaded(model, types, _version_warnings(caught))


def load_pickled(body: bytes) -> Loaded:
    """The object of a pickle or joblib file. Runs the file's code: approvers' imports only."""
    import joblib

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = joblib.load(io.BytesIO(body))
        except ModuleNotFoundError as exc:
            raise ImportInvalidError(f"the pickle needs module {exc.name!r}, which this runtime does not "
                                     "have", code="import_unreadable") from exc
        except Exception as exc:
            raise ImportInvalidError(f"the file could not be unpickled ({type(exc).__name__})",
                                     code="import_unreadable") from exc
    return Loaded(model, [], _version_warnings(caught))


def _version_warnings(caught: list[warnings.WarningMessage]) -> list[dict[str, str]]:
    out = []
    for item in caught:
        if type(item.message).__name__ == "InconsistentVersionWarning":
            out.append({"code": "sklearn_version_differs", "message": str(item.message)[:500]})
    return out[:5]


def check_estimator(model: Any, task: str) -> None:
    """A fitted scikit-learn estimator of the task's kind (``import_not_an_estimator`` /
    ``import_task_mismatch``)."""
    from sklearn.base import is_classifier, is_regressor

    if not (hasattr(model, "predict") and hasattr(model, "get_params")):
        raise ImportInvalidError(f"the file holds a {type(model).__name__}, not a scikit-learn estimator",
                                 code="import_not_an_estimator")
    kind = "classification" if is_classifier(model) else "regression" if is_regressor(model) else None
    if kind != task:
        what = f"a {kind} model" if kind else "neither a classifier nor a regressor"
        raise ImportInvalidError(f"the model is {what}; the import is judged as {task}",
                                 code="import_task_mismatch")
