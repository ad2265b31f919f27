"""DynamoDB store on the single state table. GetItem, Query and TransactWriteItems only — no Scan.

Key design (partition ``pk = MODEL#{model}`` holds everything about one model):

| item | pk | sk | gsi1pk / gsi1sk |
|---|---|---|---|
| version counter | ``MODEL#{m}`` | ``COUNTER#version`` (:func:`chalicelib.storage.table.next_number`) | — |
| model summary | ``MODEL#{m}`` | ``MODEL`` | ``MODELS_INDEX_PK`` / ``{m}`` (list models) |
| model version | ``MODEL#{m}`` | ``VERSION#{v:010d}`` | — |
| alias (current) | ``MODEL#{m}`` | ``ALIAS#{alias}`` | ``ALIAS#{alias}`` / ``{m}`` while set |
| alias log | ``MODEL#{m}`` | ``ALIASLOG#{alias}#{iso-ts}#{seq:010d}`` | — |
| audit | ``AUDIT#{m}`` | ``AUDIT#{iso-ts}#{id}`` (insert only; before 2026-12 under ``MODEL#{m}``) | — |
| serving settings | ``MODEL#{m}`` | ``SERVING`` | — |

Registration is a transaction (conditional Put of the version + Put of its audit record), then an
UpdateItem of the model summary (kept out of the transaction so concurrent registrations never
contend on one item). An alias move is one transaction: Put of the alias conditional on its move
count ``seq``, Update of the target version (exists, not rejected; revision + 1), Put of the log
entry and of the audit records. Audit records are always put with ``attribute_not_exists(pk)``, in
their own partition, which IAM makes insert-only (layout.py). "Which version was X at T" is one Query on
the alias log (``sk <= ALIASLOG#{alias}#{T}#~``, newest first, Limit 1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from chalicelib.core.registry.entities import (
    REJECTED,
    AliasMove,
    AliasState,
    AuditEvent,
    ModelSummary,
    ModelVersion,
    ServingSettings,
    VersionUpdate,
)
from chalicelib.core.registry.errors import (
    AliasConflictError,
    ConcurrentUpdateError,
    ModelVersionExistsError,
    ModelVersionNotFoundError,
    VersionRejectedError,
)
from chalicelib.core.registry.store import Key, RegistryStore
from chalicelib.core.settings import Settings, get_settings
from chalicelib.storage import table as state
from chalicelib.storage.layout import (
    ALIAS_PREFIX,
    AUDIT_PREFIX,
    MODEL_SK,
    MODELS_INDEX_PK,
    SERVING_SK,
    VERSION_PREFIX,
    alias_index_pk,
    alias_log_prefix,
    alias_log_sk,
    alias_log_upper,
    alias_sk,
    audit_pk,
    audit_sk,
    model_pk,
    version_sk,
)
from chalicelib.storage.registry.keys import audit_token
from chalicelib.storage.table import check_token

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

COUNTER = "version"


class DynamoDBRegistryStore(RegistryStore):
    """The registry on the state table named by ``settings`` (default: the environment's)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings or get_settings()

    @property
    def table(self) -> Table:
        return state.table(self._settings)

    # ---- versions ----------------------------------------------------------------------------

    def reserve_version(self, model: str) -> int:
        return state.next_number(model_pk(model), COUNTER, self._settings)

    def create_model_version(self, version: ModelVersion, audit: AuditEvent) -> None:
        try:
            self._transact([_put(version_item(version), "attribute_not_exists(pk)"), _put_audit(audit)])
        except _Cancelled as exc:
            if exc.failed(0):
                raise ModelVersionExistsError(f"version {version.version} of model {version.model!r} "
                                              "is already registered") from exc
            raise ConcurrentUpdateError("the registration collided with another write; retry") from exc
        self.table.update_item(
            Key={"pk": model_pk(version.model), "sk": MODEL_SK},
            UpdateExpression=("SET #model = :model, #g = :models, #gs = :model, "
                              "#created = if_not_exists(#created, :now), #updated = :now ADD #count :one"),
            ExpressionAttributeNames={"#model": "model", "#g": "gsi1pk", "#gs": "gsi1sk",
                                      "#created": "created_at", "#updated": "updated_at",
                                      "#count": "version_count"},
            ExpressionAttributeValues={":model": version.model, ":models": MODELS_INDEX_PK,
                                       ":now": version.created_at, ":one": 1})

    def get_model_version(self, model: str, version: int) -> ModelVersion | None:
        item = self._get(model_pk(model), version_sk(version))
        return ModelVersion.from_dict(item) if item else None

    def search_model_versions(self, model: str, limit: int, start: Key | None
                              ) -> tuple[list[ModelVersion], Key | None]:
        items, last = self._query(model, VERSION_PREFIX, limit, start)
        return [ModelVersion.from_dict(i) for i in items], last

    def get_model(self, model: str) -> ModelSummary | None:
        item = self._get(model_pk(model), MODEL_SK)
        return _summary(item) if item else None

    def list_models(self, limit: int, start: Key | None) -> tuple[list[ModelSummary], Key | None]:
        from boto3.dynamodb.conditions import Key as K

        check_token(start, pk="", prefix=MODEL_SK, index_pk=MODELS_INDEX_PK)
        items, last = state.query_page(K("gsi1pk").eq(MODELS_INDEX_PK), limit=limit, start_key=start,
                                       index=state.GSI1, settings=self._settings)
        return [_summary(i) for i in items], last

    def update_model_version(self, model: str, version: int, update: VersionUpdate,
                             audits: list[AuditEvent]) -> ModelVersion:
        ops = [_update_version(model, version, update, forbid_rejected=False)]
        ops += [_put_audit(e) for e in audits]
        try:
            self._transact(ops)
        except _Cancelled as exc:
            if exc.failed(0) and not exc.item(0):
                raise ModelVersionNotFoundError(
                    f"model {model!r} has no registered version {version}") from exc
            raise ConcurrentUpdateError(f"version {version} of model {model!r} changed meanwhile; "
                                        "read it again and retry") from exc
        found = self.get_model_version(model, version)
        assert found is not None  # just written
        return found

    # ---- aliases -----------------------------------------------------------------------------

    def get_alias(self, model: str, alias: str) -> AliasState | None:
        item = self._get(model_pk(model), alias_sk(alias))
        if not item:
            return None
        return AliasState(model=model, alias=alias, version=_int_or_none(item.get("version")),
                          seq=int(item["seq"]), updated_at=item["updated_at"])

    def get_aliases(self, model: str) -> dict[str, int]:
        found: dict[str, int] = {}
        start = None
        while True:
            items, start = self._query(model, ALIAS_PREFIX, 100, start, consistent=True)
            found.update({i["alias"]: int(i["version"]) for i in items if i.get("version") is not None})
            if not start:
                return found

    def write_alias_move(self, move: AliasMove, audits: list[AuditEvent],
                         target_update: VersionUpdate | None = None) -> None:
        alias_item: dict[str, object] = {"pk": model_pk(move.model), "sk": alias_sk(move.alias),
                                      "model": move.model, "alias": move.alias, "seq": move.seq,
                                      "updated_at": move.at, "actor": move.actor}
        if move.to_version is not None:
            alias_item.update(version=move.to_version, gsi1pk=alias_index_pk(move.alias), gsi1sk=move.model)
        if move.seq == 1:
            ops = [_put(alias_item, "attribute_not_exists(pk)")]
        else:
            ops = [_put(alias_item, "#seq = :prev", {"#seq": "seq"}, {":prev": move.seq - 1})]
        if move.to_version is not None:
            update = target_update or VersionUpdate(updated_at=move.at)
            ops.append(_update_version(move.model, move.to_version, update, forbid_rejected=True))
        log = {"pk": model_pk(move.model), "sk": alias_log_sk(move.alias, move.at, move.seq),
               "type": "alias_move", **move.to_dict()}
        ops.append(_put(log, "attribute_not_exists(pk)"))
        ops += [_put_audit(e) for e in audits]
        try:
            self._transact(ops)
        except _Cancelled as exc:
            raise _alias_move_error(move, exc) from exc

    def alias_history(self, model: str, alias: str, limit: int, start: Key | None
                      ) -> tuple[list[AliasMove], Key | None]:
        items, last = self._query(model, alias_log_prefix(alias), limit, start)
        return [_move(i) for i in items], last

    def alias_at(self, model: str, alias: str, at: str) -> AliasMove | None:
        from boto3.dynamodb.conditions import Key as K

        condition = K("pk").eq(model_pk(model)) & K("sk").between(alias_log_prefix(alias),
                                                                   alias_log_upper(alias, at))
        items, _ = state.query_page(condition, limit=1, forward=False, settings=self._settings,
                                    ConsistentRead=True)
        return _move(items[0]) if items else None

    def models_with_alias(self, alias: str) -> list[tuple[str, int]]:
        from boto3.dynamodb.conditions import Key as K

        found: list[tuple[str, int]] = []
        start = None
        while True:
            items, start = state.query_page(K("gsi1pk").eq(alias_index_pk(alias)), limit=100, start_key=start,
                                            index=state.GSI1, settings=self._settings)
            found += [(i["model"], int(i["version"])) for i in items if i.get("version") is not None]
            if not start:
                return found

    # ---- audit -------------------------------------------------------------------------------

    def append_audit(self, events: list[AuditEvent]) -> None:
        try:
            if len(events) == 1:
                self.table.put_item(Item=state.to_dynamo(audit_item(events[0])),
                                    ConditionExpression="attribute_not_exists(pk)")
            elif events:
                self._transact([_put_audit(e) for e in events])
        except Exception as exc:
            if not isinstance(exc, _Cancelled) and not state.condition_failed(exc):
                raise
            raise ConcurrentUpdateError("an audit record with this id exists (never overwritten)") from exc

    def list_audit(self, model: str, limit: int, start: Key | None
                   ) -> tuple[list[AuditEvent], Key | None]:
        """The model's audit partition and, merged by time, the records written before it had one."""
        after = audit_token(model, start)
        items, last = state.newest_across([audit_pk(model), model_pk(model)], AUDIT_PREFIX, limit=limit,
                                          after=after, settings=self._settings)
        events = [_audit(state.plain_item(i)) for i in items]
        return events, ({"pk": audit_pk(model), "sk": last} if last else None)

    # ---- serving settings --------------------------------------------------------------------

    def get_serving_settings(self, model: str) -> ServingSettings | None:
        item = self._get(model_pk(model), SERVING_SK)
        return ServingSettings.from_dict(item) if item else None

    def put_serving_settings(self, settings: ServingSettings, audit: AuditEvent) -> None:
        item = {"pk": model_pk(settings.model), "sk": SERVING_SK, "type": "serving_settings",
                **settings.to_dict()}
        if settings.revision <= 1:
            put = _put(item, "attribute_not_exists(pk)")
        else:
            put = _put(item, "#rev = :prev", {"#rev": "revision"}, {":prev": settings.revision - 1})
        try:
            self._transact([put, _put_audit(audit)])
        except _Cancelled as exc:
            raise ConcurrentUpdateError(f"the serving settings of model {settings.model!r} changed "
                                        "meanwhile; read them again and retry") from exc

    # ---- I/O helpers -------------------------------------------------------------------------

    def _get(self, pk: str, sk: str) -> state.Item | None:
        item = self.table.get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True).get("Item")
        return state.to_plain(item) if item else None

    def _query(self, model: str, prefix: str, limit: int, start: Key | None, *,
               consistent: bool = False) -> tuple[list[state.Item], Key | None]:
        """One page of ``pk = MODEL#{model} AND begins_with(sk, prefix)``; version/log/audit newest first."""
        from boto3.dynamodb.conditions import Key as K

        check_token(start, pk=model_pk(model), prefix=prefix)
        condition = K("pk").eq(model_pk(model)) & K("sk").begins_with(prefix)
        forward = prefix == ALIAS_PREFIX
        params: state.QueryOptions = {"ConsistentRead": True} if consistent else {}
        items, last = state.query_page(condition, limit=limit, start_key=start, forward=forward,
                                       settings=self._settings, **params)
        return [state.to_plain(i) for i in items], last

    def _transact(self, ops: list[dict[str, state.Item]]) -> None:
        from botocore.exceptions import ClientError

        table = self.table
        for op in ops:
            next(iter(op.values()))["TableName"] = table.name
        try:
            # the operations are built as plain dicts (_put, _update_version...), TableName set above
            table.meta.client.transact_write_items(TransactItems=cast("list[TransactWriteItemTypeDef]", ops))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            raise _Cancelled(exc.response.get("CancellationReasons") or []) from exc


# ---- item building (pure) ------------------------------------------------------------------------


class _Cancelled(Exception):
    """A cancelled transaction and the reason of each of its operations."""

    def __init__(self, reasons: Sequence[Mapping[str, Any]]) -> None:
        super().__init__([r.get("Code") for r in reasons])
        self.reasons = reasons

    def failed(self, index: int) -> bool:
        return index < len(self.reasons) and self.reasons[index].get("Code") == "ConditionalCheckFailed"

    def item(self, index: int) -> state.Item | None:
        """The item as it was when operation ``index``'s condition failed (ALL_OLD), deserialized."""
        raw = self.reasons[index].get("Item") if index < len(self.reasons) else None
        if not raw:
            return None
        from boto3.dynamodb.types import TypeDeserializer

        des = TypeDeserializer()
        try:  # cancellation reasons arrive typed ({"S": ...}): boto3 does not convert error bodies
            return state.plain_item({k: des.deserialize(v) for k, v in raw.items()})
        except (TypeError, ValueError, AttributeError):
            return state.plain_item(raw)


def _serialize(values: Mapping[str, object]) -> state.Item:
    """Plain values for the resource's client (boto3 types them itself): floats → Decimal."""
    serialized: state.Item = state.to_dynamo(values)
    return serialized


def _put(item: Mapping[str, object], condition: str | None = None, names: dict[str, str] | None = None,
         values: Mapping[str, object] | None = None) -> dict[str, state.Item]:
    op: state.Item = {"Item": _serialize(item)}
    if condition:
        op["ConditionExpression"] = condition
    if names:
        op["ExpressionAttributeNames"] = names
    if values:
        op["ExpressionAttributeValues"] = _serialize(values)
    return {"Put": op}


def _update_version(model: str, version: int, update: VersionUpdate, *,
                    forbid_rejected: bool) -> dict[str, state.Item]:
    """A transactional Update of a version item: conditions of ``update``, revision + 1."""
    names = {"#rev": "revision", "#upd": "updated_at"}
    values: dict[str, object] = {":one": 1, ":upd": update.updated_at}
    sets = ["#rev = #rev + :one", "#upd = :upd"]
    for field in ("status", "description", "decision"):
        value = getattr(update, field)
        if value is not None:
            names[f"#{field}"] = field
            values[f":{field}"] = value
            sets.append(f"#{field} = :{field}")
    removes = []
    if update.set_tags or update.remove_tags:
        names["#tags"] = "tags"
    for i, (key, value) in enumerate(sorted(update.set_tags.items())):
        names[f"#tk{i}"], values[f":tv{i}"] = key, value
        sets.append(f"#tags.#tk{i} = :tv{i}")
    for i, key in enumerate(update.remove_tags):
        names[f"#tr{i}"] = key
        removes.append(f"#tags.#tr{i}")
    conditions = ["attribute_exists(pk)"]
    if forbid_rejected or update.expected_status is not None:
        names["#status"] = "status"
    if forbid_rejected:
        values[":rejected"] = REJECTED
        conditions.append("#status <> :rejected")
    if update.expected_status is not None:
        values[":es"] = update.expected_status
        conditions.append("#status = :es")
    if update.expected_revision is not None:
        values[":er"] = update.expected_revision
        conditions.append("#rev = :er")
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    return {"Update": {"Key": _serialize({"pk": model_pk(model), "sk": version_sk(version)}),
                       "UpdateExpression": expression, "ConditionExpression": " AND ".join(conditions),
                       "ExpressionAttributeNames": names, "ExpressionAttributeValues": _serialize(values),
                       "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}


def _alias_move_error(move: AliasMove, exc: _Cancelled) -> Exception:
    where = f"alias {move.alias!r} of model {move.model!r}"
    if exc.failed(0) or not any(exc.failed(i) for i in range(len(exc.reasons))):
        return AliasConflictError(f"{where} moved meanwhile")  # or a transaction conflict: retryable
    if move.to_version is not None and exc.failed(1):
        old = exc.item(1)
        if not old:
            return ModelVersionNotFoundError(
                f"model {move.model!r} has no registered version {move.to_version}")
        if old.get("status") == REJECTED:
            return VersionRejectedError(f"version {move.to_version} of model {move.model!r} is rejected")
        return ConcurrentUpdateError(f"version {move.to_version} of model {move.model!r} changed meanwhile")
    return AliasConflictError(f"{where} moved meanwhile")


def version_item(version: ModelVersion) -> dict[str, object]:
    """The stored form of a version (aliases are not stored on it: they live in ALIAS# items)."""
    item: dict[str, object] = {"pk": model_pk(version.model), "sk": version_sk(version.version),
                               "type": "model_version", **version.to_dict()}
    item.pop("aliases")
    return item


def audit_item(event: AuditEvent) -> dict[str, object]:
    return {"pk": audit_pk(event.model), "sk": audit_sk(event.at, event.id), "type": "audit",
            **event.to_dict()}


def _put_audit(event: AuditEvent) -> dict[str, state.Item]:
    """An audit record's Put, insert only (IAM cannot refuse a PutItem that overwrites; this can)."""
    return _put(audit_item(event), "attribute_not_exists(pk)")



def _audit(item: state.Item) -> AuditEvent:
    return AuditEvent(model=item["model"], event=item["event"], actor=item["actor"], at=item["at"],
                      id=item["id"], version=_int_or_none(item.get("version")),
                      details=dict(item.get("details") or {}))


def _move(item: state.Item) -> AliasMove:
    return AliasMove(model=item["model"], alias=item["alias"],
                     from_version=_int_or_none(item.get("from_version")),
                     to_version=_int_or_none(item.get("to_version")), actor=item["actor"], at=item["at"],
                     seq=int(item["seq"]), reason=item.get("reason") or "", cause=item.get("cause"))


def _summary(item: state.Item) -> ModelSummary:
    return ModelSummary(model=item["model"], created_at=item["created_at"], updated_at=item["updated_at"],
                        version_count=int(item.get("version_count") or 0))


def _int_or_none(value: object) -> int | None:
    return None if value is None else state.as_int(value)
