"""Entities of the dataset service: stored contracts, dataset versions, processing claims and outcomes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict, cast

from chalicelib.core.events import ObjectVersionDict

if TYPE_CHECKING:
    from chalicelib.core.validation.contract import Contract

# Dataset version statuses.
PASSED = "passed"  # curated Parquet written (invalid rows, if any were allowed, in quarantine/)
FAILED = "failed"  # validated and rejected: nothing curated; quarantine/ holds the evidence
QUARANTINED = "quarantined"  # not validated at all (no contract): the whole object copied to quarantine/


class StoredContractDict(TypedDict):
    version: int
    created_at: str
    contract: dict[str, Any]  # the contract as JSON (pydantic's model_dump)


class DatasetVersionDict(TypedDict):
    """:meth:`DatasetVersion.to_dict`: the stored record (less its keys) and the API's body."""

    dataset: str
    version: int
    status: str
    raw: ObjectVersionDict
    report_key: str
    created_at: str
    curated_path: str | None
    contract_version: int | None
    rows: int
    invalid_rows: int
    verdict: str
    decision: str | None
    code: str | None
    reason: str | None
    quarantine_path: str | None
    glue_table: str | None
    curated_columns: dict[str, str]
    failing_rules: list[str]
    warning_rules: list[str]
    timings: dict[str, float]
    lineage: dict[str, Any]


class OutcomeDict(TypedDict, total=False):
    """:meth:`Outcome.to_dict` (fields that are set), or what the trigger reports for a failed upload."""

    key: str
    dataset: str
    version: int
    status: str
    duplicate: bool
    skipped: str
    error: str  # the exception's class name (the trigger, when processing failed)
    retryable: bool


@dataclass(frozen=True)
class StoredContract:
    """One stored version of a dataset's contract (versions are never overwritten)."""

    contract: Contract
    version: int
    created_at: str

    def to_dict(self) -> StoredContractDict:
        return {"version": self.version, "created_at": self.created_at,
                "contract": self.contract.model_dump(mode="json")}


@dataclass(frozen=True)
class DatasetVersion:
    """One processed upload of a dataset, with its lineage: raw object → contract → report → curated data."""

    dataset: str
    version: int
    status: str
    raw: ObjectVersionDict
    report_key: str
    created_at: str
    curated_path: str | None = None
    contract_version: int | None = None
    rows: int = 0
    invalid_rows: int = 0
    verdict: str = "fail"
    decision: str | None = None
    code: str | None = None  # why it failed, e.g. "no_contract", "validation_failed"
    reason: str | None = None
    quarantine_path: str | None = None
    glue_table: str | None = None
    curated_columns: dict[str, str] = field(default_factory=dict)  # column → its name in curated data and
    #   Glue, where they differ (Athena takes lowercase letters, digits and "_")
    failing_rules: list[str] = field(default_factory=list)  # error-severity rules that failed
    warning_rules: list[str] = field(default_factory=list)  # warn-severity rules that failed
    timings: dict[str, float] = field(default_factory=dict)
    # Where the rows came from beyond ``raw`` ({} for an upload). A feedback version
    # (:mod:`chalicelib.core.datasets.feedback`): the labels object, the capture objects, the join.
    lineage: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def to_dict(self) -> DatasetVersionDict:
        return cast(DatasetVersionDict, asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatasetVersion:
        """From a stored item (numbers plain) or a :meth:`to_dict` with changes; unknown keys ignored."""
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Claim:
    """The processing claim on one object version (exactly-once effects under at-least-once delivery)."""

    state: str  # "acquired" (we process it), "complete" (done before), "busy" (another attempt holds it)
    version: int | None = None
    attempts: int = 0
    owner: str | None = None  # this attempt's token (set when acquired)


@dataclass(frozen=True)
class Outcome:
    """What processing one object-created event did (returned by the handler; no PII)."""

    key: str
    dataset: str | None = None
    version: int | None = None
    status: str | None = None
    duplicate: bool = False
    skipped: str | None = None  # why the event was ignored (not a dataset key, object gone)

    def to_dict(self) -> OutcomeDict:
        return cast(OutcomeDict, {k: v for k, v in asdict(self).items() if v not in (None, False)})
