"""Real-time predictions: resolve alias/version, load (cached), check records, score, capture a sample.

Costs, per container: a cold prediction makes one registry read for the alias, one for the version
record (its artifact SHA-256), one for the model's serving settings and one artifact load (S3). After
that, a prediction reads nothing until the alias and settings entries expire
(``settings.alias_ttl_seconds``), then one read each. Version records are immutable in what serving
needs (the artifact SHA-256), so they stay cached; models are cached in a bounded LRU keyed by
``(model, version, sha256)``.

Capture and shadow scoring follow the model's serving settings (``PUT /models/{model}/serving``): its
capture percentage (else the stack's ``SLUICE_CAPTURE_PERCENT``, the sampler's) and its shadow alias
(``shadow`` unless set; none when set to null). A failed settings read never fails a prediction: the
stack's defaults apply until the next read.

Dependencies are injected (registry factory, artifact loader ``(model, version, sha256) -> LoadedModel``,
clocks, sampler, capture writer) so tests can hand in fakes; :func:`get_service` builds the production
one lazily on ``chalicelib.services.registry.get_registry`` and ``chalicelib.storage.artifacts.load_model``.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.core import metrics
from chalicelib.core.errors import NotFoundError
from chalicelib.core.log import logger
from chalicelib.core.registry.entities import DEFAULT_SHADOW_ALIAS, ServingSettings
from chalicelib.core.serving.cache import MISSING, LRUCache, TTLCache
from chalicelib.core.serving.errors import (
    AliasNotFoundError,
    ModelVersionNotFoundError,
    SelectorConflictError,
    VersionInvalidError,
)
from chalicelib.core.serving.schema import (
    Feature,
    check_count,
    check_records,
    features_from_metadata,
    records_from_body,
)
from chalicelib.core.settings import Settings, get_settings
from chalicelib.storage import capture as capture_mod

DEFAULT_ALIAS = "production"
SHADOW_ALIAS = DEFAULT_SHADOW_ALIAS
MODEL_CACHE_SIZE = 4  # fitted pipelines per container (memory bound)
VERSION_CACHE_SIZE = 512


@dataclass(frozen=True)
class Target:
    """The model version a request resolved to."""

    model: str
    version: int
    alias: str | None
    sha256: str


@dataclass(frozen=True)
class ServedModel:
    """A loaded artifact with its parsed feature schema."""

    pipeline: Any
    metadata: dict[str, Any]
    features: tuple[Feature, ...]


def parse_version(raw: Any) -> int:
    """``?version=`` as a positive integer: digits only (``+3``, `` 3`` and ``1_000`` are refused)."""
    text = str(raw)
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise VersionInvalidError("version must be a positive integer")
    return int(text)


class PredictionService:
    """Answers predictions for any model in the registry; one instance per container."""

    def __init__(self, *, registry_factory: Callable[[], Any], loader: Callable[[str, int, str], Any],
                 settings: Settings, clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], dt.datetime] | None = None,
                 sampler: capture_mod.Sampler | None = None,
                 capture: capture_mod.CaptureWriter | None = None,
                 model_cache_size: int = MODEL_CACHE_SIZE) -> None:
        self.settings = settings
        self._registry_factory = registry_factory
        self._registry: Any = None
        self._loader = loader
        self._now = now or (lambda: dt.datetime.now(dt.UTC))
        self.sampler = sampler or capture_mod.Sampler(settings.capture_percent)
        self.capture = capture or capture_mod.CaptureWriter()
        self.aliases: TTLCache[tuple[str, str], int | None] = TTLCache(settings.alias_ttl_seconds,
                                                                       clock=clock)
        self.serving_settings: TTLCache[str, ServingSettings] = TTLCache(settings.alias_ttl_seconds,
                                                                         clock=clock)
        self.versions: LRUCache[tuple[str, int], str] = LRUCache(VERSION_CACHE_SIZE)
        self.models: LRUCache[tuple[str, int, str], ServedModel] = LRUCache(model_cache_size)
        self._load_lock = threading.Lock()

    # ---- resolution and loading ---------------------------------------------------------------

    @property
    def registry(self) -> Any:
        if self._registry is None:
            self._registry = self._registry_factory()
        return self._registry

    def resolve(self, model: str, *, alias: str | None = None, version: Any = None) -> Target:
        """The version ``?alias=`` or ``?version=`` (default: the ``production`` alias) selects."""
        if alias and version is not None:
            raise SelectorConflictError("give ?alias= or ?version=, not both")
        number: int | None
        if version is not None:
            number = parse_version(version)
            return Target(model, number, None, self._sha256(model, number))
        alias = alias or DEFAULT_ALIAS
        number = self.alias_version(model, alias)
        if number is None:
            raise AliasNotFoundError(f"model {model!r} has no alias {alias!r}")
        return Target(model, number, alias, self._sha256(model, number))

    def alias_version(self, model: str, alias: str) -> int | None:
        """Where ``alias`` points, from the TTL cache or one registry read."""
        cached = self.aliases.get((model, alias))
        if cached is not MISSING:
            return cached
        found = self.registry.get_alias(model, alias)
        number = None if found is None else int(found)
        self.aliases.put((model, alias), number)
        return number

    def model_settings(self, model: str) -> ServingSettings:
        """The model's serving settings, from the TTL cache or one registry read (defaults if it fails)."""
        cached = self.serving_settings.get(model)
        if cached is not MISSING:
            return cached
        try:
            found = self.registry.get_serving_settings(model)
        except Exception as exc:  # capture settings must never fail an answer
            capture_mod.count("settings_errors")
            logger.warning("serving settings read failed", extra={"model": model,
                                                                  "error": type(exc).__name__})
            found = ServingSettings(model)
        self.serving_settings.put(model, found)
        return found

    def _sha256(self, model: str, version: int) -> str:
        cached = self.versions.get((model, version))
        if cached is not None:
            return cached
        try:
            record = self.registry.get_model_version(model, version, with_aliases=False)
        except NotFoundError as exc:
            raise ModelVersionNotFoundError(f"model {model!r} has no version {version}") from exc
        if record is None:
            raise ModelVersionNotFoundError(f"model {model!r} has no version {version}")
        if getattr(record, "status", None) == "rejected":  # a reviewer said no: it does not answer
            from chalicelib.core.registry.errors import VersionRejectedError

            raise VersionRejectedError(f"version {version} of model {model!r} was rejected")
        sha = str(getattr(record, "artifact_sha256", "") or "")
        self.versions.put((model, version), sha)
        return sha

    def load(self, target: Target) -> ServedModel:
        """The fitted pipeline of ``target``, loaded once per container (SHA-256 verified by the loader)."""
        key = (target.model, target.version, target.sha256)
        served = self.models.get(key)
        if served is not None:
            return served
        with self._load_lock:
            served = self.models.get(key)
            if served is None:
                loaded = self._loader(target.model, target.version, target.sha256)
                metadata = dict(loaded.metadata)
                served = ServedModel(loaded.pipeline, metadata, features_from_metadata(metadata))
                self.models.put(key, served)
        return served

    # ---- predictions --------------------------------------------------------------------------

    def predict(self, model: str, body: Any, *, alias: str | None = None, version: Any = None,
                request_id: str | None = None) -> dict[str, Any]:
        """The answer to ``POST /models/{model}/predict``."""
        from chalicelib.core.serving.frame import frame_from_rows
        from chalicelib.core.serving.scoring import score

        started = time.perf_counter()
        records = records_from_body(body)  # shape and size errors before any read
        check_count(records, self.settings.max_predict_records)
        target = self.resolve(model, alias=alias, version=version)
        served = self.load(target)
        checked = check_records(records, served.features, max_records=self.settings.max_predict_records)
        frame = frame_from_rows(checked.rows, served.features)
        scores = score(served.pipeline, frame)
        request_id = request_id or str(uuid.uuid4())
        answer: dict[str, Any] = {"model": model, "version": target.version, "alias": target.alias,
                                  "request_id": request_id, "predictions": scores.predictions}
        probabilities = scores.probabilities()
        if probabilities is not None:
            answer["probabilities"] = probabilities
        if checked.ignored_fields:
            answer["ignored_fields"] = checked.ignored_fields
        serving = self.model_settings(model)
        if self.sampler.sampled(serving.capture_percent):
            capture_mod.count("sampled")
            when = self._now()
            self.capture.submit(lambda: capture_mod.CaptureEvent(
                model=model, version=target.version, alias=target.alias, request_id=request_id, time=when,
                inputs=checked.rows, predictions=scores.predictions, probabilities=probabilities,
                shadow=self._shadow(target, records, serving.shadow_alias)))
        else:
            capture_mod.count("skipped")
        metrics.count("Predictions", float(len(records)), model=model)
        metrics.milliseconds("PredictionLatency", (time.perf_counter() - started) * 1000)
        return answer

    def _shadow(self, target: Target, records: list[Any],
                alias: str | None = SHADOW_ALIAS) -> capture_mod.ShadowResult | None:
        """The shadow alias's version's outputs on the same records (none without a shadow alias); a
        failure is recorded, never raised.

        The records are checked against the shadow version's own feature schema: a challenger may
        use features the champion does not.
        """
        from chalicelib.core.serving.frame import frame_from_rows
        from chalicelib.core.serving.scoring import score

        if alias is None:
            return None
        try:
            number = self.alias_version(target.model, alias)
        except Exception as exc:
            capture_mod.count("shadow_errors")
            logger.warning("shadow alias lookup failed", extra={"model": target.model,
                                                                "error": type(exc).__name__})
            return None
        if number is None or number == target.version:
            return None
        try:
            served = self.load(self.resolve(target.model, version=number))
            checked = check_records(records, served.features, max_records=len(records))
            scores = score(served.pipeline, frame_from_rows(checked.rows, served.features))
        except Exception as exc:
            capture_mod.count("shadow_errors")
            logger.warning("shadow scoring failed", extra={"model": target.model, "version": number,
                                                           "error": type(exc).__name__})
            return {"version": number, "error": getattr(exc, "code", None) or type(exc).__name__}
        return {"version": number, "predictions": scores.predictions,
                "probabilities": scores.probabilities()}


# ---- the container's service -----------------------------------------------------------------

_service: PredictionService | None = None
_pinned = False  # set_service() installed it: keep it whatever the settings say
_service_lock = threading.Lock()


def default_registry() -> Any:
    from chalicelib.services.registry import get_registry

    return get_registry()


def default_loader(model: str, version: int, sha256: str) -> Any:
    # The registry's SHA-256 is passed on so the loader does not read the registry again.
    from chalicelib.storage.artifacts import load_model

    return load_model(model, version, sha256)


def get_service(settings: Settings | None = None) -> PredictionService:
    """This container's service (rebuilt when the settings change, e.g. a new test world)."""
    global _service
    settings = settings or get_settings()
    with _service_lock:
        if _service is None or (not _pinned and _service.settings != settings):
            if _service is not None:
                _service.capture.close()
            _service = PredictionService(registry_factory=default_registry, loader=default_loader,
                                         settings=settings)
        return _service


def set_service(service: PredictionService | None) -> None:
    """Install ``service`` as this container's (tests and benchmarks); None forgets it."""
    global _service, _pinned
    with _service_lock:
        _service, _pinned = service, service is not None


# ---- init: the predict path before the first request (Lambda SnapStart) --------------------------

# Set on the API function only (infra/functions.yaml): its init imports and warms the predict path, so
# the snapshot SnapStart takes when a version is published has it done. Every other function keeps a
# light ``import app``.
ENV_PRELOAD = "SLUICE_PRELOAD"
PRELOAD_SERVING = "serving"
PRELOADED: dict[str, float] | None = None  # seconds per step of this container's preload, if it ran


def preload_if_configured(environ: Mapping[str, str] = os.environ) -> dict[str, float] | None:
    """:func:`preload` when ``SLUICE_PRELOAD=serving`` (the API function); None otherwise."""
    if environ.get(ENV_PRELOAD) != PRELOAD_SERVING:
        return None
    return preload()


def preload(settings: Settings | None = None) -> dict[str, float]:
    """Everything a first prediction pays besides its own reads: imports, the predict path's one-time
    costs (:func:`chalicelib.core.serving.warmup.warm_up`), this container's service and the clients it
    reads with (botocore loads each service's model once). No request is sent: a snapshot must not hold
    connections. Seconds per step, also kept in :data:`PRELOADED` and logged."""
    global PRELOADED
    import codecs

    import chalicelib.storage.artifacts  # noqa: F401  (the loader's module: metadata and drift profile types)
    from chalicelib.core.serving.warmup import warm_up
    from chalicelib.storage import client
    from chalicelib.storage.table import table

    timings = warm_up()
    started = time.perf_counter()
    codecs.lookup("idna")  # botocore's first request encodes the host name with it
    settings = settings or get_settings()
    service = get_service(settings)
    table(settings)  # the registry's DynamoDB resource and Table class
    client("s3", settings)
    service.registry  # noqa: B018  (built now, not on the first request)
    timings["clients"] = time.perf_counter() - started
    _register_after_restore(reseed)
    PRELOADED = timings
    logger.info("serving preloaded", extra={"seconds": {k: round(v, 3) for k, v in timings.items()}})
    return timings


def reseed() -> None:
    """After a SnapStart restore: every environment restored from one snapshot starts with the same
    random state, so the capture sampler (and ``random``) draw again from the system's entropy."""
    random.seed()
    with _service_lock:
        if _service is not None:  # a new Sampler seeds its own Random from os.urandom
            _service.sampler = capture_mod.Sampler(_service.sampler.percent)


def _register_after_restore(hook: Callable[[], None]) -> bool:
    """Register ``hook`` with the Lambda runtime's SnapStart library (``snapshot_restore_py``, part of
    the managed Python runtimes; absent elsewhere: then there is no snapshot to restore from)."""
    try:
        from snapshot_restore_py import register_after_restore  # type: ignore[import-not-found]
    except ImportError:
        return False
    register_after_restore(hook)
    return True
