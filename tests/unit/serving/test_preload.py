"""The API function's init: the predict path imported and warmed before the first request (what SnapStart
snapshots), only where SLUICE_PRELOAD=serving says so, and no randomness shared between restored copies.
``import app`` in a fresh interpreter: tests/functional/infra/test_api_init.py."""

from __future__ import annotations

import random
import sys
import types

from chalicelib.core.serving import warmup
from chalicelib.core.settings import Settings
from chalicelib.core.training.estimators import ALLOWED
from chalicelib.services import serving
from chalicelib.storage.capture import Sampler


def test_the_preload_runs_only_for_the_serving_value():
    assert serving.preload_if_configured({}) is None
    assert serving.preload_if_configured({"SLUICE_PRELOAD": "training"}) is None


def test_the_modules_imported_at_init_cover_every_allow_listed_estimator():
    modules = warmup.predict_modules()
    assert {allowed.module for allowed in ALLOWED.values()} <= set(modules)
    assert "chalicelib.core.training.pipeline" in modules  # fitted pipelines pickle its functions
    assert {name for name, _ in warmup.WARM_ESTIMATORS} <= set(ALLOWED)


def test_the_warm_up_feeds_every_kind_of_feature_through_the_real_time_frame():
    from chalicelib.core.serving.schema import FEATURE_TYPES
    from chalicelib.core.training.features import Feature

    kinds = {Feature(f["name"], f["type"]).kind for f in warmup.WARM_FEATURES}
    assert kinds == {Feature("x", t).kind for t in FEATURE_TYPES}  # numeric, categorical, bool, date
    timings = warmup.warm_up()
    assert set(timings) == {"imports", "warm_up"}


class _Unused:
    """A capture writer that is never called (nothing is sampled here)."""

    def submit(self, build: object) -> None:
        raise AssertionError("nothing is captured in these tests")

    def close(self) -> None:
        pass


def _service(sampler: Sampler) -> serving.PredictionService:
    return serving.PredictionService(registry_factory=lambda: None, loader=lambda *a: None,
                                     settings=Settings.from_env(bucket="b", table="t"), sampler=sampler,
                                     capture=_Unused())  # type: ignore[arg-type]


def test_a_restored_snapshot_draws_its_capture_samples_afresh():
    seeded = _service(Sampler(50, random.Random(7)))
    serving.set_service(seeded)
    try:
        serving.reseed()
        assert seeded.sampler.percent == 50
        snapshot = Sampler(50, random.Random(7))  # the sequence every restored copy would have drawn
        draws = [seeded.sampler.sampled() for _ in range(64)]
        assert draws != [snapshot.sampled() for _ in range(64)]
    finally:
        serving.set_service(None)


def test_the_restore_hook_is_registered_with_the_lambda_runtimes_snapshot_library(monkeypatch):
    registered = []
    library = types.ModuleType("snapshot_restore_py")
    library.register_after_restore = registered.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", library)
    assert serving._register_after_restore(serving.reseed) is True
    assert registered == [serving.reseed]


def test_without_the_snapshot_library_there_is_nothing_to_register(monkeypatch):
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import fails, as off Lambda
    assert serving._register_after_restore(serving.reseed) is False
