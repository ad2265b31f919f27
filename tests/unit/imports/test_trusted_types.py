"""The trusted list names real types, covers every pipeline sluice trains, and nothing else gets in."""

from __future__ import annotations

import importlib

import pytest

from chalicelib.core.imports.trusted import TRUSTED_TYPES, untrusted


def _resolve(path: str) -> object:
    module, _, name = path.rpartition(".")
    if module == "builtins" and name == "NoneType":
        return type(None)
    if module == "sluice_transforms":
        from chalicelib.services.exports import portable_module

        return getattr(portable_module(), name)
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("path", sorted(TRUSTED_TYPES))
def test_every_trusted_name_is_a_type_or_function_that_exists(path):
    assert _resolve(path) is not None


@pytest.mark.parametrize("name", sorted(__import__("chalicelib.core.training.estimators",
                                                   fromlist=["ALLOWED"]).ALLOWED))
def test_every_allow_listed_estimators_sluice_pipeline_names_only_trusted_types(name):
    import skops.io

    from chalicelib.core.imports.loading import skops_types
    from chalicelib.core.training.estimators import ALLOWED
    from chalicelib.core.training.features import resolve_features
    from chalicelib.core.training.pipeline import build_pipeline, prepare_frame
    from chalicelib.core.training.spec import TrainingSpec
    from chalicelib.core.validation.contract import parse_contract
    from chalicelib.services.exports import portable
    from tests.unit.training.conftest import CONTRACT, rides_frame

    task = ALLOWED[name].task
    spec = TrainingSpec(dataset="rides", target="tipped" if task == "classification" else "fare", task=task,
                        features={"all_except": ["ride_id", "fare", "tipped"]}, estimator={"name": name})
    features = resolve_features(spec, parse_contract(CONTRACT))
    X, y = prepare_frame(rides_frame(60), spec, features)
    fitted = build_pipeline(spec, features).fit(X, y)
    for pipeline in (fitted, portable(fitted)):  # as sluice trains it, and as its exports name it
        assert untrusted(skops_types(bytes(skops.io.dumps(pipeline)))) == []


def test_a_type_skops_trusts_by_default_is_not_trusted_here():
    from sklearn.svm import SVC

    assert untrusted(["sklearn.svm._classes.SVC", "builtins.eval", "os.system", "numpy.ndarray"]) == [
        "builtins.eval", "os.system", "sklearn.svm._classes.SVC"]
    assert SVC  # the type exists: refusing it is a choice, not an accident


def test_loading_refuses_untrusted_types_before_constructing_anything():
    import skops.io
    from sklearn.preprocessing import FunctionTransformer

    from chalicelib.core.imports.errors import UntrustedTypeError
    from chalicelib.core.imports.loading import load_skops
    from tests.unit.imports import evil

    evil.CALLS.clear()
    body = bytes(skops.io.dumps(FunctionTransformer(evil.side_effect)))
    with pytest.raises(UntrustedTypeError) as caught:
        load_skops(body)
    assert caught.value.details == {"types": ["tests.unit.imports.evil.side_effect"]}
    assert evil.CALLS == []
