"""Where sluice keeps things: every S3 key and every DynamoDB key, spelled once.

S3, one bucket (``SLUICE_BUCKET``; the product's layout, DESIGN.md):

==========================================  ================================================================
``raw/{dataset}/…``                         users' uploads; only read
``staging/{dataset}/…``                     samples for contract inference; no trigger, expire after a day
``curated/{dataset}/dataset_version={n}/``  curated Parquet of version *n* (one Glue table per dataset)
``quarantine/{dataset}/{n:010d}/``          rejected rows or files of version *n*, with ``_manifest.json``
``reports/validation/{dataset}/{n}.json``   validation report of version *n*
``models/{model}/{version}/``               ``model.joblib``, ``metadata.json``, ``reference_profile.json``
``capture/{model}/date=…/hour=…/{id}.jsonl``  sampled requests with the model's answers (UTC hour)
``labels/{model}/…``                        ground truth keyed by request id (users)
``feedback/{model}/{labels-id}.parquet``    labelled captured requests: the raw object of a version of
                                            the dataset ``{model}-feedback`` (no trigger; never expires)
``feedback/{model}/{labels-id}.captures.json``  every capture object those rows came from (lineage)
``batch/{model}/input|output/{name}``       batch predictions
``reports/drift/{model}/{check}/…``         drift (JSON, HTML, Model Monitor files) and performance checks
``exports/{model}/{version}/{format}/…``    a version exported for MLflow, SageMaker or skops (once each)
``imports/{model}/{import}/…``              a model trained elsewhere, its request and start records
                                            (keys in ``chalicelib/services/imports.py``; expire in 7 days)
``tables/{table}/day={day}/…``              one-line JSON rows of the SQL tables (``core/sql_tables.py``)
``athena-results/``                         the Athena workgroup's query results (expire in 7 days)
==========================================  ================================================================

DynamoDB, one table (``SLUICE_TABLE``): string keys ``pk``/``sk``, one index ``gsi1`` (``gsi1pk``/``gsi1sk``).

=====================  ==========================================  =========================================
pk                     sk                                          item (gsi1pk / gsi1sk)
=====================  ==========================================  =========================================
``DATASET#{d}``        ``META``                                    summary (``DATASETS`` / ``{d}``)
``DATASET#{d}``        ``CONTRACT#{v:010d}``                       contract version, never overwritten
``DATASET#{d}``        ``VERSION#{v:010d}``                        dataset version with its lineage
``DATASET#{d}``        ``OBJECT#{sha256(identity)}``               processing claim of one raw object version
``MODEL#{m}``          ``MODEL``                                   model summary (``MODELS`` / ``{m}``)
``MODEL#{m}``          ``VERSION#{v:010d}``                        model version
``MODEL#{m}``          ``ALIAS#{a}``                               alias (``ALIAS#{a}`` / ``{m}`` while set)
``MODEL#{m}``          ``SERVING``                                 serving settings (capture %, shadow alias)
``MODEL#{m}``          ``ALIASLOG#{a}#{iso time}#{seq:010d}``      alias history
``MODEL#{m}``          ``SPEC#{v:010d}`` · ``SPEC#HEAD``           training specs; the head is indexed
                                                                   (``SPECS_BY_DATASET#{d}`` / ``MODEL#{m}``)
``MODEL#{m}``          ``RUN#{id}`` · ``RUNLOCK``                  training runs; one run in flight
``MODEL#{m}``          ``CHECK#{iso time}#{id}`` · ``CLAIM#{id}``  drift/performance checks; once-only claims
``AUDIT#{m}``          ``AUDIT#{iso time}#{id}``                   a model's audit log (insert only)
``OPS#AUDIT``          ``AUDIT#{iso time}#{id}``                   the reconciler's audit log (insert only)
``GLUETABLE#{t}``      ``META``                                    the dataset holding Glue table *t*
any                    ``COUNTER#{name}``                          atomic counters (version numbers)
=====================  ==========================================  =========================================

Audit records have partitions of their own (``AUDIT#{m}``, ``OPS#AUDIT``) so that IAM, which sees only
partition keys (``dynamodb:LeadingKeys``), can make them insert-only: every role that audits may PutItem
there (only the reconciler in ``OPS#AUDIT``) and every role is denied UpdateItem, DeleteItem,
BatchWriteItem and PartiQL writes on them; the code writes them with ``attribute_not_exists(pk)``.
Records written before they moved (``MODEL#{m}`` / ``AUDIT#…``, and ``OPS`` / ``AUDIT#…``) are only
read: the listings merge them with the new ones, newest first, so a deployed stack needs no migration.

Zero-padded numbers make ``sk`` order numeric, so "newest first" is a descending Query; every read on a
hot path is a GetItem or a Query, never a Scan.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
import uuid

from chalicelib.core.datasets.errors import ObjectKeyInvalidError
from chalicelib.core.datasets.names import DATASET_NAME, check_dataset_name, check_filename

# ---- S3 ------------------------------------------------------------------------------------------

RAW = "raw"
STAGING = "staging"
CURATED = "curated"
QUARANTINE = "quarantine"
REPORTS = "reports"
MODELS = "models"
CAPTURE = "capture"
LABELS = "labels"
FEEDBACK = "feedback"
BATCH = "batch"
EXPORTS = "exports"
# A key starting with one of these is a full key; any other key given to contract inference is
# relative to raw/{dataset}/ (then staging/{dataset}/).
LAYOUT_PREFIXES = (RAW, STAGING, CURATED, QUARANTINE, REPORTS, MODELS, CAPTURE, LABELS, FEEDBACK, BATCH,
                   EXPORTS)
INFER_PREFIXES = (RAW, STAGING)  # where contract inference may read
BATCH_INPUT_KEY = re.compile(r"^batch/(?P<model>[^/]+)/input/(?P<name>.+)$")
PARTITION = "dataset_version"  # the curated data's partition column


def dataset_of_key(key: str, prefix: str = RAW) -> str | None:
    """The dataset of an object key ``{prefix}/{dataset}/{…}``; None when the key is not one."""
    parts = key.split("/")
    if len(parts) < 3 or parts[0] != prefix or not parts[-1]:
        return None
    if not DATASET_NAME.fullmatch(parts[1]) or any(p in ("", ".", "..") for p in parts[2:]):
        return None
    return parts[1]


def check_raw_key(dataset: str, key: str | None) -> str:
    """``key`` if it names an object under ``raw/{dataset}/``, else :class:`ObjectKeyInvalidError`."""
    if not isinstance(key, str) or dataset_of_key(key) != dataset:
        raise ObjectKeyInvalidError(f"key must name an object under raw/{dataset}/")
    return key


def inference_keys(dataset: str, key: str | None) -> list[str]:
    """The full keys contract inference tries for ``key``, in order.

    A key that starts with a prefix of the bucket's layout is a full key and must lie under
    ``raw/{dataset}/`` or ``staging/{dataset}/``; any other key is relative to ``raw/{dataset}/``, then
    to ``staging/{dataset}/`` (so ``rides.csv`` names ``raw/rides/rides.csv``). Path tricks are refused.
    """
    if not isinstance(key, str) or not key:
        raise ObjectKeyInvalidError(f"key must name an object under raw/{dataset}/")
    first = key.split("/", 1)[0]
    if first in LAYOUT_PREFIXES:
        candidates = [key]
    else:
        candidates = [f"{prefix}/{dataset}/{key}" for prefix in INFER_PREFIXES]
    valid = [c for c in candidates if any(dataset_of_key(c, p) == dataset for p in INFER_PREFIXES)]
    if len(valid) != len(candidates):
        where = STAGING if first == STAGING else RAW
        raise ObjectKeyInvalidError(f"key must name an object under {where}/{dataset}/")
    return valid


def upload_key(dataset: str, filename: str, *, now: dt.datetime | None = None,
               token: str | None = None, prefix: str = RAW) -> str:
    """``raw/{dataset}/{timestamp}-{uuid}-{filename}``: unique, sortable by time."""
    when = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    return (f"{prefix}/{check_dataset_name(dataset)}/{when}-{token or uuid.uuid4().hex}-"
            f"{check_filename(filename)}")


def staging_key(dataset: str, filename: str, *, now: dt.datetime | None = None,
                token: str | None = None) -> str:
    """``staging/{dataset}/{timestamp}-{uuid}-{filename}``: a sample for contract inference."""
    return upload_key(dataset, filename, now=now, token=token, prefix=STAGING)


def curated_prefix(dataset: str) -> str:
    return f"{CURATED}/{dataset}/"


def curated_partition(dataset: str, version: int) -> str:
    return f"{CURATED}/{dataset}/{PARTITION}={version}/"


def quarantine_prefix(dataset: str, version: int) -> str:
    return f"{QUARANTINE}/{dataset}/{version:010d}/"


def report_key(dataset: str, version: int) -> str:
    """The validation report of a dataset version."""
    return f"{REPORTS}/validation/{dataset}/{version}.json"


def curated_column(name: str) -> str:
    """A column's name in curated Parquet and in the Glue table: what Athena accepts (accents stripped,
    every run of other characters than letters, digits and ``_`` as one ``_``, lowercase), exactly
    awswrangler's ``sanitize_column_name``. ``sepal length (cm)`` is ``sepal_length_cm_``."""
    plain = "".join(c for c in unicodedata.normalize("NFD", name) if unicodedata.category(c) != "Mn")
    return re.sub("[^A-Za-z0-9_]+", "_", plain).lower()


def curated_columns(names: list[str]) -> dict[str, str]:
    """Each name → its curated name, distinct: a name that would repeat one already taken (or the
    partition column) gets ``_2``, ``_3``… (contracts whose declared columns collide are refused when put,
    so this only ever renames undeclared columns kept with ``extra_columns: keep``)."""
    taken = {PARTITION}
    out: dict[str, str] = {}
    for name in names:
        base = candidate = curated_column(name)
        number = 1
        while candidate in taken:
            number += 1
            candidate = f"{base}_{number}"
        taken.add(candidate)
        out[name] = candidate
    return out


def curated_collisions(names: list[str]) -> dict[str, list[str]]:
    """Curated names that more than one of ``names`` (or the partition column) would take."""
    groups: dict[str, list[str]] = {PARTITION: [f"(the partition column {PARTITION})"]}
    for name in names:
        groups.setdefault(curated_column(name), []).append(name)
    return {curated: group for curated, group in groups.items() if len(group) > 1}


def glue_table_name(dataset: str) -> str:
    """Glue/Athena table names allow lowercase letters, digits and '_'."""
    return dataset.replace("-", "_")


def model_prefix(model: str, version: int) -> str:
    return f"{MODELS}/{model}/{version}/"


def export_key(model: str, version: int, fmt: str) -> str:
    """``exports/{model}/{version}/{format}/{file}``: written once per format, never changed."""
    from chalicelib.core.registry.export import SUFFIX

    return f"{EXPORTS}/{model}/{version}/{fmt}/{SUFFIX[fmt]}"


def capture_hour_prefix(model: str, hour: dt.datetime) -> str:
    """``capture/{model}/date=YYYY-MM-DD/hour=HH/`` of the UTC hour ``hour`` falls in."""
    return f"{CAPTURE}/{model}/date={hour:%Y-%m-%d}/hour={hour:%H}/"


def capture_key(model: str, when: dt.datetime) -> str:
    """A new capture object of the hour ``when`` falls in (a fresh uuid: never overwrites)."""
    return f"{capture_hour_prefix(model, when)}{uuid.uuid4()}.jsonl"


def capture_prefix(model: str) -> str:
    return f"{CAPTURE}/{model}/"


def model_of_labels_key(key: str) -> str | None:
    """The model of a labels object ``labels/{model}/…``; None for any other key."""
    parts = key.split("/")
    return parts[1] if len(parts) >= 3 and parts[0] == LABELS and parts[1] and parts[-1] else None


FEEDBACK_SUFFIX = "-feedback"


def feedback_dataset(model: str) -> str:
    """The dataset holding ``model``'s feedback rows: ``{model}-feedback``.

    Dataset names are at most 63 characters, model names too: a model name longer than 54 keeps its
    first 45 characters and a hash of the whole name, so two long names never share a dataset.
    """
    name = f"{model}{FEEDBACK_SUFFIX}"
    if len(name) <= 63:
        return name
    digest = hashlib.sha256(model.encode()).hexdigest()[:8]
    return f"{model[:45]}-{digest}{FEEDBACK_SUFFIX}"


def feedback_prefix(model: str) -> str:
    return f"{FEEDBACK}/{model}/"


def feedback_key(model: str, labels_id: str) -> str:
    """The feedback rows of one labels object (``labels_id``: the performance check's id)."""
    return f"{feedback_prefix(model)}{labels_id}.parquet"


def model_of_feedback_key(key: str) -> str | None:
    """The model of a feedback rows object ``feedback/{model}/{labels-id}.parquet``; None otherwise."""
    parts = key.split("/")
    ok = len(parts) == 3 and parts[0] == FEEDBACK and bool(parts[1]) and parts[2].endswith(".parquet")
    return parts[1] if ok else None


def feedback_captures_key(model: str, labels_id: str) -> str:
    """Every capture object (key, version id) the feedback rows of one labels object came from."""
    return f"{feedback_prefix(model)}{labels_id}.captures.json"


def drift_report_prefix(model: str, check_id: str) -> str:
    return f"{REPORTS}/drift/{model}/{check_id}/"


def batch_output_key(input_key: str) -> str | None:
    """``batch/{model}/input/{name}`` → ``batch/{model}/output/{name}`` (None for other keys)."""
    match = BATCH_INPUT_KEY.match(input_key)
    return f"{BATCH}/{match['model']}/output/{match['name']}" if match else None


# ---- DynamoDB ------------------------------------------------------------------------------------

META = "META"
DATASETS_INDEX_PK = "DATASETS"
MODELS_INDEX_PK = "MODELS"
MODEL_SK = "MODEL"
CONTRACT_PREFIX = "CONTRACT#"
VERSION_PREFIX = "VERSION#"
ALIAS_PREFIX = "ALIAS#"
AUDIT_PREFIX = "AUDIT#"
SPEC_HEAD = "SPEC#HEAD"
RUN_PREFIX = "RUN#"
RUN_LOCK = "RUNLOCK"
CHECK_PREFIX = "CHECK#"
SERVING_SK = "SERVING"  # a model's serving settings (capture percentage, shadow alias)


def counter_sk(name: str) -> str:
    return f"COUNTER#{name}"


def dataset_pk(dataset: str) -> str:
    return f"DATASET#{dataset}"


def glue_table_pk(table: str) -> str:
    """The claim of a Glue table name by one dataset (``col-x`` and ``col_x`` map to one table)."""
    return f"GLUETABLE#{table}"


def contract_sk(version: int) -> str:
    return f"{CONTRACT_PREFIX}{version:010d}"


def version_sk(version: int) -> str:
    """A dataset version or a model version (each under its own partition)."""
    return f"{VERSION_PREFIX}{version:010d}"


def object_hash(identity: str) -> str:
    """SHA-256 of an object version's identity string (bucket, key, version id, ETag)."""
    return hashlib.sha256(identity.encode()).hexdigest()


def object_sk(object_hash: str) -> str:
    return f"OBJECT#{object_hash}"


def model_pk(model: str) -> str:
    return f"MODEL#{model}"


def alias_sk(alias: str) -> str:
    return f"{ALIAS_PREFIX}{alias}"


def alias_index_pk(alias: str) -> str:
    return f"{ALIAS_PREFIX}{alias}"


def alias_log_prefix(alias: str) -> str:
    return f"ALIASLOG#{alias}#"


def alias_log_sk(alias: str, at: str, seq: int) -> str:
    return f"{alias_log_prefix(alias)}{at}#{seq:010d}"


def alias_log_upper(alias: str, at: str) -> str:
    """The greatest log key of ``alias`` at or before ``at`` (``~`` sorts after ``#`` and digits)."""
    return f"{alias_log_prefix(alias)}{at}#~"


def audit_sk(at: str, event_id: str) -> str:
    return f"{AUDIT_PREFIX}{at}#{event_id}"


def audit_pk(model: str) -> str:
    """A model's audit log."""
    return f"{AUDIT_PREFIX}{model}"


# The reconciler's audit log: outside AUDIT#*, so that a role writing models' audit logs cannot write it
OPS_AUDIT_PK = "OPS#AUDIT"
LEGACY_OPS_AUDIT_PK = "OPS"  # where the reconciler's log was written before it had an AUDIT# partition


def spec_sk(version: int) -> str:
    return f"SPEC#{version:010d}"


def specs_by_dataset_pk(dataset: str) -> str:
    return f"SPECS_BY_DATASET#{dataset}"


def run_sk(run_id: str) -> str:
    return f"{RUN_PREFIX}{run_id}"


def check_sk(checked_at: str, check_id: str) -> str:
    return f"{CHECK_PREFIX}{checked_at}#{check_id}"


def claim_sk(check_id: str) -> str:
    return f"CLAIM#{check_id}"
