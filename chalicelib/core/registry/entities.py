"""The registry's entities: frozen values, separate from the stores that persist them (as in MLflow).

Timestamps are ISO-8601 UTC strings with milliseconds (``2026-11-26T16:33:47.123Z``); they sort
lexicographically in time order, which the DynamoDB sort keys rely on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypedDict, TypeVar, cast

CANDIDATE = "candidate"
APPROVED = "approved"
REJECTED = "rejected"
ARCHIVED = "archived"
STATUSES = (CANDIDATE, APPROVED, REJECTED, ARCHIVED)

# The status changes the registry accepts. Same-status writes are no-ops (or only record a decision).
# A rejected version stays rejected until archived; an archived one may come back as a candidate.
TRANSITIONS: dict[str, frozenset[str]] = {
    CANDIDATE: frozenset({APPROVED, REJECTED, ARCHIVED}),
    APPROVED: frozenset({REJECTED, ARCHIVED}),
    REJECTED: frozenset({ARCHIVED}),
    ARCHIVED: frozenset({CANDIDATE}),
}

PRODUCTION = "production"

# Audit event names written by the registry (callers may append their own, e.g. ``gate_decision``).
EVENT_REGISTERED = "version_registered"
EVENT_STATUS = "status_changed"
EVENT_UPDATED = "version_updated"
EVENT_ALIAS_MOVED = "alias_moved"
EVENT_ALIAS_DELETED = "alias_deleted"
EVENT_SERVING = "serving_settings_changed"

DEFAULT_SHADOW_ALIAS = "shadow"  # the alias that scores sampled requests beside the answer by default


class _Any:
    """Sentinel: an alias write that does not care about the alias's previous value."""

    _instance: _Any | None = None

    def __new__(cls) -> _Any:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ANY"


ANY: Any = _Any()


def format_ts(moment: datetime) -> str:
    """``moment`` as the registry's timestamp string (UTC, milliseconds, ``Z``)."""
    from chalicelib.core.clock import iso

    return iso(moment)


def parse_ts(value: str) -> str:
    """Any ISO-8601 timestamp (``Z``, an offset, or naive = UTC) in the registry's canonical form.

    Raises ``ValueError`` when ``value`` is not ISO-8601.
    """
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return format_ts(datetime.fromisoformat(text))


def utc_now() -> datetime:
    return datetime.now(UTC)


class ModelVersionDict(TypedDict):
    """:meth:`ModelVersion.to_dict`: the JSON body of a version (and its stored item, less the keys)."""

    model: str
    version: int
    status: str
    source: str
    artifact_sha256: str
    run_id: str
    metrics: dict[str, float | None]
    dataset_versions: list[dict[str, object]]
    spec_version: int | None
    description: str
    tags: dict[str, str]
    decision: dict[str, object] | None
    origin: dict[str, object] | None
    aliases: list[str]
    created_at: str
    updated_at: str
    revision: int


class ModelSummaryDict(TypedDict):
    model: str
    created_at: str
    updated_at: str
    version_count: int


class AliasMoveDict(TypedDict):
    model: str
    alias: str
    from_version: int | None
    to_version: int | None
    actor: str
    at: str
    seq: int
    reason: str
    cause: object


class AuditEventDict(TypedDict):
    model: str
    event: str
    actor: str
    at: str
    id: str
    version: int | None
    details: dict[str, object]


class ServingSettingsDict(TypedDict):
    model: str
    capture_percent: float | None
    shadow_alias: str | None
    updated_at: str
    updated_by: str
    revision: int


class PageDict(TypedDict):
    items: list[object]
    next_token: str | None


@dataclass(frozen=True)
class ModelVersion:
    """One registered version of a model. ``revision`` counts writes to it (optimistic locking)."""

    model: str
    version: int
    status: str = CANDIDATE
    source: str = ""
    artifact_sha256: str = ""
    run_id: str = ""
    metrics: dict[str, float | None] = field(default_factory=dict)
    dataset_versions: list[dict[str, object]] = field(default_factory=list)
    spec_version: int | None = None
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    decision: dict[str, object] | None = None
    # where it came from, set once at registration: {"kind": "training_run" | "import", "by", "run_id",
    # and for an import "format", "sha256" (of the uploaded file), "import_id", "pickle", "staging_key"}
    origin: dict[str, object] | None = None
    aliases: tuple[str, ...] = ()
    created_at: str = ""
    updated_at: str = ""
    revision: int = 0

    def to_dict(self) -> ModelVersionDict:
        out = asdict(self)
        out["aliases"] = list(self.aliases)
        return cast(ModelVersionDict, out)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelVersion:
        """From a stored item (DynamoDB's numbers already plain) or a :meth:`to_dict`."""
        names = cls.__dataclass_fields__
        values = {k: v for k, v in data.items() if k in names}
        values["version"] = int(values["version"])
        values["revision"] = int(values.get("revision") or 0)
        values["aliases"] = tuple(sorted(values.get("aliases") or ()))
        values["tags"] = dict(values.get("tags") or {})
        values["metrics"] = dict(values.get("metrics") or {})
        values["dataset_versions"] = list(values.get("dataset_versions") or [])
        return cls(**values)


@dataclass(frozen=True)
class ModelSummary:
    """A registered model: it has at least one registered version."""

    model: str
    created_at: str
    updated_at: str
    version_count: int = 0

    def to_dict(self) -> ModelSummaryDict:
        return cast(ModelSummaryDict, asdict(self))


@dataclass(frozen=True)
class AliasState:
    """Where an alias points now (``version`` None once deleted) and how many moves it has had."""

    model: str
    alias: str
    version: int | None
    seq: int
    updated_at: str


@dataclass(frozen=True)
class AliasMove:
    """One move of an alias: ``from_version`` → ``to_version`` (None = did not exist / deleted)."""

    model: str
    alias: str
    from_version: int | None
    to_version: int | None
    actor: str
    at: str
    seq: int
    reason: str = ""
    cause: object = None  # what moved it: "api", "promote", "rollback", or the gate's evidence (a dict)

    def to_dict(self) -> AliasMoveDict:
        return cast(AliasMoveDict, asdict(self))


@dataclass(frozen=True)
class AuditEvent:
    """One append-only audit record: who did what, when, to which version, with which evidence."""

    model: str
    event: str
    actor: str
    at: str
    id: str
    version: int | None = None
    details: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> AuditEventDict:
        return cast(AuditEventDict, asdict(self))


@dataclass(frozen=True)
class VersionUpdate:
    """A conditional change to a version (what stores apply atomically with its audit records).

    ``expected_status``/``expected_revision`` are conditions (None = not checked); ``status``,
    ``description``, ``decision`` are new values (None = unchanged); tags are set/removed per key.
    """

    updated_at: str
    status: str | None = None
    description: str | None = None
    decision: dict[str, object] | None = None
    set_tags: dict[str, str] = field(default_factory=dict)
    remove_tags: tuple[str, ...] = ()
    expected_status: str | None = None
    expected_revision: int | None = None


@dataclass(frozen=True)
class ServingSettings:
    """How a model is served beyond its aliases: which share of its requests is captured, and which
    alias scores the captured ones in the shadow of the answer.

    ``capture_percent`` None: the stack's ``SLUICE_CAPTURE_PERCENT``. ``shadow_alias`` None: no shadow
    scoring. A model nobody configured has ``ServingSettings(model)``: the stack's percentage and the
    ``shadow`` alias. ``revision`` counts writes (0: never written; the next write expects it).
    """

    model: str
    capture_percent: float | None = None
    shadow_alias: str | None = DEFAULT_SHADOW_ALIAS
    updated_at: str = ""
    updated_by: str = ""
    revision: int = 0

    def to_dict(self) -> ServingSettingsDict:
        return cast(ServingSettingsDict, asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ServingSettings:
        """From a stored item (DynamoDB's numbers already plain) or a :meth:`to_dict`."""
        percent = data.get("capture_percent")
        return cls(model=str(data["model"]), capture_percent=None if percent is None else float(percent),
                   shadow_alias=data.get("shadow_alias"), updated_at=str(data.get("updated_at") or ""),
                   updated_by=str(data.get("updated_by") or ""), revision=int(data.get("revision") or 0))

    def values(self) -> dict[str, object]:
        """What the settings say (for an audit record's from → to)."""
        return {"capture_percent": self.capture_percent, "shadow_alias": self.shadow_alias}


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):  # noqa: UP046 - dataclass generics read clearer this way
    """One page of a listing and the opaque token of the next (None on the last page)."""

    items: list[T]
    next_token: str | None = None

    def to_dict(self) -> PageDict:
        return {"items": [i.to_dict() if hasattr(i, "to_dict") else i for i in self.items],
                "next_token": self.next_token}
