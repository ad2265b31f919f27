"""Training specs in the state table: versioned, never overwritten.

Keys (pk ``MODEL#{model}``; the registry owns VERSION#/ALIAS#/AUDIT#/ALIASLOG#/COUNTER#version):

- ``SPEC#{version:010d}`` — one immutable spec version (``spec``, ``version``, ``actor``, ``created_at``);
  written with ``attribute_not_exists`` so concurrent PUTs never share a number.
- ``SPEC#SPEC_HEAD`` — the current version, its dataset and retraining flags; indexed on ``gsi1``
  (``gsi1pk=SPECS_BY_DATASET#{dataset}``, ``gsi1sk=MODEL#{model}``) so a new dataset version finds
  the models to retrain with one Query (no Scan). Moves only forward (conditional on the version).
- ``RUN#{run_id}`` and ``RUNLOCK`` — training runs and the one-run-in-flight lock (:mod:`.runs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypedDict, cast

from chalicelib.core.paging import PageKey
from chalicelib.core.training.errors import SpecNotFoundError
from chalicelib.core.training.spec import TrainingSpec
from chalicelib.storage import table as state
from chalicelib.storage.layout import SPEC_HEAD, model_pk, spec_sk, specs_by_dataset_pk

if TYPE_CHECKING:
    from boto3.dynamodb.conditions import ConditionBase

MAX_ATTEMPTS = 8


class SpecHead(TypedDict):
    """The ``SPEC_HEAD`` item: a model's current spec version and what it trains on."""

    pk: str
    sk: str
    model: str
    version: int
    dataset: str
    pinned_version: int | None
    on_new_data: bool
    updated_at: str
    gsi1pk: str
    gsi1sk: str


class StoredSpecDict(TypedDict):
    model: str
    version: int
    spec: dict[str, Any]  # the TrainingSpec as JSON
    actor: str
    created_at: str


@dataclass(frozen=True)
class StoredSpec:
    model: str
    version: int
    spec: TrainingSpec
    actor: str
    created_at: str

    def to_dict(self) -> StoredSpecDict:
        return {"model": self.model, "version": self.version, "spec": self.spec.model_dump(mode="json"),
                "actor": self.actor, "created_at": self.created_at}


def put_spec(model: str, spec: TrainingSpec, *, actor: str, now: str) -> StoredSpec:
    """Store ``spec`` as the model's next version and make it current."""
    table = state.table()
    body = state.to_dynamo(spec.model_dump(mode="json"))
    for _ in range(MAX_ATTEMPTS):
        version = _head_version(model) + 1
        item = {"pk": model_pk(model), "sk": spec_sk(version), "model": model, "version": version,
                "spec": body, "actor": actor, "created_at": now}
        written = state.conditional(partial(table.put_item, Item=item,
                                            ConditionExpression="attribute_not_exists(pk)"))
        if written is None:
            continue  # a concurrent PUT took this number
        _advance_head(model, version, spec, now)
        return StoredSpec(model, version, spec, actor, now)
    from chalicelib.core.errors import ConflictError

    raise ConflictError("too many concurrent spec updates; try again", code="spec_conflict")


def _head_version(model: str) -> int:
    head = {"pk": model_pk(model), "sk": SPEC_HEAD}
    item: state.Item | None = state.table().get_item(Key=head, ConsistentRead=True).get("Item")
    if item:
        return int(item["version"])
    # The head is written after the version: a crashed PUT may have left a newer version behind.
    items, _ = state.query_page(_versions_condition(model), limit=1, forward=False)
    return int(items[0]["version"]) if items else 0


def _versions_condition(model: str) -> ConditionBase:
    from boto3.dynamodb.conditions import Key

    return Key("pk").eq(model_pk(model)) & Key("sk").between("SPEC#0", "SPEC#9")


def _advance_head(model: str, version: int, spec: TrainingSpec, now: str) -> None:
    # a newer version may already be current: then the condition fails and that one stays
    state.conditional(lambda: state.table().put_item(
            Item={"pk": model_pk(model), "sk": SPEC_HEAD, "model": model, "version": version,
                  "dataset": spec.dataset, "pinned_version": spec.dataset_version,
                  "on_new_data": spec.retrain.on_new_data, "updated_at": now,
                  "gsi1pk": specs_by_dataset_pk(spec.dataset), "gsi1sk": model_pk(model)},
            ConditionExpression="attribute_not_exists(version) OR version < :v",
            ExpressionAttributeValues={":v": version}))


def get_spec(model: str, version: int | None = None) -> StoredSpec:
    """The current spec (or ``version``); :class:`SpecNotFoundError` when there is none."""
    table = state.table()
    if version is None:
        head: state.Item | None = table.get_item(Key={"pk": model_pk(model), "sk": SPEC_HEAD}).get("Item")
        if not head:
            raise SpecNotFoundError(f"model {model!r} has no training spec; PUT /models/{model}/spec first")
        version = int(head["version"])
    item = table.get_item(Key={"pk": model_pk(model), "sk": spec_sk(version)}).get("Item")
    if not item:
        raise SpecNotFoundError(f"model {model!r} has no training spec version {version}")
    return _stored(item)


def _stored(item: state.Item) -> StoredSpec:
    return StoredSpec(item["model"], int(item["version"]),
                      TrainingSpec.model_validate(state.to_plain(item["spec"])), item.get("actor", ""),
                      item["created_at"])


def list_specs(model: str, *, limit: int, start_key: PageKey | None = None
               ) -> tuple[list[StoredSpec], PageKey | None]:
    """Spec versions, newest first, one page."""
    items, last = state.query_page(_versions_condition(model), limit=limit, start_key=start_key,
                                   forward=False)
    return [_stored(i) for i in items], last


def models_training_on(dataset: str) -> list[SpecHead]:
    """Current spec heads of every model that trains on ``dataset`` (Query on gsi1, all pages)."""
    from boto3.dynamodb.conditions import Key

    heads: list[SpecHead] = []
    start: PageKey | None = None
    while True:
        items, start = state.query_page(Key("gsi1pk").eq(specs_by_dataset_pk(dataset)), limit=100,
                                        start_key=start, index=state.GSI1)
        heads.extend(cast(SpecHead, state.plain_item(i)) for i in items)
        if not start:
            return heads
