"""Compact, mergeable profiles of features: what drift detection compares, never the raw data.

A numeric feature keeps its count, missing count, mean and sum of squared deviations (merged with Chan's
parallel formula), min/max, quantile bin edges with the counts per bin, and a bounded uniform sample.
A categorical feature keeps its count, missing count and category frequencies (top-K, the rest under
``__other__``).

The reference profile (training data) fixes the bin edges: a current profile is built with
``reference=...`` and binned on the reference's edges, whose outer bins are open (``(-inf, e1)``,
``[ek, +inf)``), so values outside the reference's range are still counted. Profiles of chunks merge
(``Profile.merge``) into the profile of their concatenation: counts, bins, mean and std exactly (to
rounding), the sample as a uniform sample of the union. A window of any size is thus profiled chunk by
chunk at bounded memory (``profile_chunks``).

numpy / pandas are imported inside functions: this module stays cheap to import.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NotRequired, Protocol, SupportsFloat, TypedDict, cast

from chalicelib.core.drift.config import CATEGORICAL, NUMERIC, OTHER, ProfileMismatchError

if TYPE_CHECKING:
    import numpy as np

# A column as read by name from the table being profiled: a pandas Series, a pyarrow (Chunked)Array,
# a numpy array or a list. Dynamic: each helper tells them apart at run time.
type Column = Any


class Table(Protocol):
    """What :func:`build_profile` profiles: columns read by name (a pandas DataFrame, a pyarrow Table or
    RecordBatch, a mapping of arrays)."""

    def __getitem__(self, name: str, /) -> Column: ...

SCHEMA_VERSION = 1
DEFAULT_BINS = 10
DEFAULT_MAX_CATEGORIES = 100


class FeatureProfileDict(TypedDict):
    """:meth:`FeatureProfile.to_dict`: the numeric fields for a numeric feature, else the categorical."""

    name: str
    kind: str
    count: int
    missing: int
    mean: NotRequired[float | None]
    m2: NotRequired[float]
    std: NotRequired[float | None]
    min: NotRequired[float | None]
    max: NotRequired[float | None]
    edges: NotRequired[list[float]]
    bin_counts: NotRequired[list[int]]
    bin_sums: NotRequired[list[float]]
    sample: NotRequired[list[float]]
    frequencies: NotRequired[dict[str, int]]
    pinned: NotRequired[list[str]]


class ProfileDict(TypedDict):
    """:meth:`Profile.to_dict` (the JSON of a stored profile)."""

    schema_version: int
    rows: int
    bins: int
    max_sample: int
    max_categories: int
    features: list[FeatureProfileDict]


class ReferenceProfileDict(TypedDict):
    """``reference_profile.json`` beside a model version: its features and its predictions on training."""

    features: ProfileDict
    prediction: ProfileDict


@dataclass
class FeatureProfile:
    """Profile of one feature; numeric fields are empty for categorical features and vice versa.

    ``count`` counts non-missing values (NaN, None and ±inf are missing). ``m2`` is the sum of squared
    deviations from the mean. ``edges`` are the inner bin edges: ``len(bin_counts) == len(edges) + 1``;
    ``bin_sums`` holds the sum of the values in each bin (the Wasserstein distance over all rows needs it).
    ``pinned`` lists the categories a current profile keeps on top of its ``max_categories`` most frequent
    others (the reference's categories), so unseen categories stay visible.
    """

    name: str
    kind: str
    count: int = 0
    missing: int = 0
    mean: float | None = None
    m2: float = 0.0
    min: float | None = None
    max: float | None = None
    edges: list[float] = field(default_factory=list)
    bin_counts: list[int] = field(default_factory=list)
    bin_sums: list[float] = field(default_factory=list)
    sample: list[float] = field(default_factory=list)
    frequencies: dict[str, int] = field(default_factory=dict)
    pinned: list[str] = field(default_factory=list)

    @property
    def std(self) -> float | None:
        """Population standard deviation (ddof=0), None without values."""
        if self.kind != NUMERIC or self.count == 0:
            return None
        std: float = (self.m2 / self.count) ** 0.5  # float ** float is typed Any (it may be complex)
        return std

    @property
    def missing_share(self) -> float:
        total = self.count + self.missing
        return self.missing / total if total else 0.0

    def merge(self, other: FeatureProfile, *, max_categories: int = DEFAULT_MAX_CATEGORIES,
              max_sample: int | None = None) -> FeatureProfile:
        """Profile of the concatenation of both inputs (a new object)."""
        if (self.name, self.kind) != (other.name, other.kind):
            raise ProfileMismatchError(
                f"cannot merge feature {self.name!r} ({self.kind}) with {other.name!r} ({other.kind})")
        if self.kind == NUMERIC:
            return _merge_numeric(self, other, max_sample)
        merged = dict(self.frequencies)
        for key, n in other.frequencies.items():
            merged[key] = merged.get(key, 0) + n
        pinned = sorted(set(self.pinned) | set(other.pinned))
        return FeatureProfile(name=self.name, kind=self.kind, count=self.count + other.count,
                              missing=self.missing + other.missing,
                              frequencies=_cap(merged, max_categories, pinned), pinned=pinned)

    def to_dict(self) -> FeatureProfileDict:
        out: FeatureProfileDict = {"name": self.name, "kind": self.kind, "count": int(self.count),
                                   "missing": int(self.missing)}
        if self.kind == NUMERIC:
            out["mean"], out["m2"], out["std"] = _opt_float(self.mean), float(self.m2), _opt_float(self.std)
            out["min"], out["max"] = _opt_float(self.min), _opt_float(self.max)
            out["edges"] = [float(e) for e in self.edges]
            out["bin_counts"] = [int(c) for c in self.bin_counts]
            out["bin_sums"] = [float(v) for v in self.bin_sums]
            out["sample"] = [float(v) for v in self.sample]
        else:
            out["frequencies"] = {str(k): int(v) for k, v in self.frequencies.items()}
            out["pinned"] = list(self.pinned)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureProfile:
        """From :meth:`to_dict`'s JSON as stored (numbers may come back as other numeric types)."""
        kind = data["kind"]
        if kind not in (NUMERIC, CATEGORICAL):
            raise ProfileMismatchError(f"feature {data.get('name')!r} has unknown kind {kind!r}")
        return cls(name=str(data["name"]), kind=kind, count=int(data["count"]), missing=int(data["missing"]),
                   mean=_opt_float(data.get("mean")), m2=float(data.get("m2") or 0.0),
                   min=_opt_float(data.get("min")), max=_opt_float(data.get("max")),
                   edges=[float(e) for e in data.get("edges", [])],
                   bin_counts=[int(c) for c in data.get("bin_counts", [])],
                   bin_sums=[float(v) for v in data.get("bin_sums", [])],
                   sample=[float(v) for v in data.get("sample", [])],
                   frequencies={str(k): int(v) for k, v in data.get("frequencies", {}).items()},
                   pinned=[str(p) for p in data.get("pinned", [])])


@dataclass
class Profile:
    """Profiles of a table's features (``features`` keeps the caller's order) and the row count."""

    features: dict[str, FeatureProfile]
    rows: int = 0
    bins: int = DEFAULT_BINS
    max_sample: int = 1000
    max_categories: int = DEFAULT_MAX_CATEGORIES
    schema_version: int = SCHEMA_VERSION

    @property
    def feature_types(self) -> dict[str, str]:
        return {name: fp.kind for name, fp in self.features.items()}

    def __getitem__(self, name: str) -> FeatureProfile:
        return self.features[name]

    def merge(self, other: Profile) -> Profile:
        """Profile of both inputs' rows (a new object); both must profile the same features, same edges."""
        if self.feature_types != other.feature_types:
            raise ProfileMismatchError(
                f"cannot merge profiles of different features: {sorted(self.feature_types.items())} vs "
                f"{sorted(other.feature_types.items())}")
        max_sample = max(self.max_sample, other.max_sample)
        max_categories = max(self.max_categories, other.max_categories)
        features = {name: fp.merge(other.features[name], max_categories=max_categories, max_sample=max_sample)
                    for name, fp in self.features.items()}
        return Profile(features=features, rows=self.rows + other.rows, bins=self.bins, max_sample=max_sample,
                       max_categories=max_categories)

    def join(self, other: Profile) -> Profile:
        """One profile of the features of both (the same rows profiled apart, e.g. inputs and predictions)."""
        shared = sorted(set(self.features) & set(other.features))
        if shared:
            raise ProfileMismatchError(f"cannot join profiles that both hold features {shared}")
        return Profile(features={**self.features, **other.features}, rows=max(self.rows, other.rows),
                       bins=self.bins, max_sample=max(self.max_sample, other.max_sample),
                       max_categories=max(self.max_categories, other.max_categories))

    def to_dict(self) -> ProfileDict:
        return {"schema_version": self.schema_version, "rows": int(self.rows), "bins": self.bins,
                "max_sample": self.max_sample, "max_categories": self.max_categories,
                "features": [fp.to_dict() for fp in self.features.values()]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        version = int(data.get("schema_version", SCHEMA_VERSION))
        if version != SCHEMA_VERSION:
            raise ProfileMismatchError(f"profile schema version {version} is not supported "
                                       f"(expected {SCHEMA_VERSION})")
        features = [FeatureProfile.from_dict(f) for f in data["features"]]
        return cls(features={fp.name: fp for fp in features}, rows=int(data.get("rows", 0)),
                   bins=int(data.get("bins", DEFAULT_BINS)), max_sample=int(data.get("max_sample", 1000)),
                   max_categories=int(data.get("max_categories", DEFAULT_MAX_CATEGORIES)),
                   schema_version=version)


def build_profile(df: Table, feature_types: Mapping[str, str], *, reference: Profile | None = None,
                  max_sample: int = 1000, seed: int = 0, bins: int = DEFAULT_BINS,
                  max_categories: int = DEFAULT_MAX_CATEGORIES) -> Profile:
    """Profile the columns ``feature_types`` names of ``df`` (pandas DataFrame, pyarrow Table or RecordBatch,
    or a mapping of arrays).

    Parameters
    ----------
    feature_types : ``{column: "numeric" | "categorical"}``
    reference : the reference profile; when given, numeric features are binned on its edges and its
        categories are always kept (a *current* profile). Without it the edges are this data's quantiles.
    max_sample : size of the uniform sample kept per numeric feature.
    seed : seed of the sampling; profile the chunks of one table with different seeds (``profile_chunks``).
    """
    _check_kinds(feature_types)
    edges, pinned = _reference_layout(feature_types, reference)
    return _profile(df, feature_types, edges=edges, pinned=pinned, max_sample=max_sample, seed=seed,
                    bins=bins, max_categories=max_categories)


def profile_chunks(chunks: Iterable[Table], feature_types: Mapping[str, str], *,
                   reference: Profile | None = None, max_sample: int = 1000, seed: int = 0,
                   bins: int = DEFAULT_BINS, max_categories: int = DEFAULT_MAX_CATEGORIES) -> Profile:
    """Profile a table given as an iterable of DataFrame chunks, holding one chunk at a time.

    Without ``reference`` the first chunk's quantiles fix the bin edges for the whole table (shuffled or
    representative first chunks give the most balanced bins).
    """
    _check_kinds(feature_types)
    edges, pinned = _reference_layout(feature_types, reference)
    merged: Profile | None = None
    for i, chunk in enumerate(chunks):
        part = _profile(chunk, feature_types, edges=edges, pinned=pinned, max_sample=max_sample,
                        seed=[seed, i], bins=bins, max_categories=max_categories)
        if merged is None:
            merged = part
            if edges is None:
                edges = {n: fp.edges for n, fp in part.features.items() if fp.kind == NUMERIC}
        else:
            merged = merged.merge(part)
    if merged is None:
        raise ProfileMismatchError("cannot profile an empty sequence of chunks")
    return merged


# --------------------------------------------------------------------------------------------- helpers
def _check_kinds(feature_types: Mapping[str, str]) -> None:
    bad = {n: k for n, k in feature_types.items() if k not in (NUMERIC, CATEGORICAL)}
    if bad:
        raise ProfileMismatchError(f"feature types must be 'numeric' or 'categorical': {bad}")


def _reference_layout(feature_types: Mapping[str, str], reference: Profile | None
                      ) -> tuple[dict[str, list[float]] | None, dict[str, list[str]] | None]:
    if reference is None:
        return None, None
    missing = [n for n in feature_types if n not in reference.features]
    wrong = [n for n, k in feature_types.items() if n in reference.features and reference[n].kind != k]
    if missing or wrong:
        raise ProfileMismatchError(f"features not in the reference profile: {missing}; "
                                   f"of another type than in the reference: {wrong}")
    edges = {n: reference[n].edges for n, k in feature_types.items() if k == NUMERIC}
    pinned = {n: sorted(k for k in reference[n].frequencies if k != OTHER)
              for n, k in feature_types.items() if k == CATEGORICAL}
    return edges, pinned


def _profile(df: Table, feature_types: Mapping[str, str], *, edges: dict[str, list[float]] | None,
             pinned: dict[str, list[str]] | None, max_sample: int, seed: int | list[int], bins: int,
             max_categories: int) -> Profile:
    import numpy as np

    rng = np.random.default_rng(seed)
    features: dict[str, FeatureProfile] = {}
    rows = 0
    for name, kind in feature_types.items():
        column = df[name]
        rows = len(column)
        if kind == NUMERIC:
            fixed = None if edges is None else edges[name]
            features[name] = _numeric(name, column, fixed, bins=bins, max_sample=max_sample, rng=rng)
        else:
            keep = [] if pinned is None else pinned[name]
            features[name] = _categorical(name, column, keep, max_categories=max_categories)
    return Profile(features=features, rows=rows, bins=bins, max_sample=max_sample,
                   max_categories=max_categories)


def _is_arrow(column: Column) -> bool:
    return type(column).__module__.startswith("pyarrow")


def _as_float(column: Column) -> np.ndarray:
    import numpy as np

    if _is_arrow(column):
        import pyarrow as pa
        import pyarrow.compute as pc

        t = column.type
        if any(check(t) for check in (pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean,
                                      pa.types.is_decimal)):
            return np.asarray(pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
        column = column.to_pandas()
    values = getattr(column, "to_numpy", None)
    array = values() if values is not None else np.asarray(column)
    if array.dtype.kind in "fiub":
        return array.astype(float, copy=False)
    import pandas as pd  # object / string / extension arrays: unparseable values become missing

    return pd.to_numeric(pd.Series(array), errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _numeric(name: str, column: Column, edges: list[float] | None, *, bins: int, max_sample: int,
             rng: np.random.Generator) -> FeatureProfile:
    import numpy as np

    raw = _as_float(column)
    x = raw[np.isfinite(raw)]
    missing = len(raw) - len(x)
    if len(x) == 0:
        inner = list(edges) if edges is not None else []
        return FeatureProfile(name=name, kind=NUMERIC, missing=missing, edges=inner,
                              bin_counts=[0] * (len(inner) + 1), bin_sums=[0.0] * (len(inner) + 1))
    if edges is None:
        qs = np.quantile(x, np.linspace(0.0, 1.0, bins + 1)[1:-1])
        edges = np.unique(qs).tolist()
    index = _bin_index(np.asarray(edges, dtype=float), x)
    counts = np.bincount(index, minlength=len(edges) + 1)
    sums = np.bincount(index, weights=x, minlength=len(edges) + 1)
    mean = float(x.mean())
    m2 = float(np.square(x - mean).sum())
    sample = x if len(x) <= max_sample else rng.choice(x, size=max_sample, replace=False)
    return FeatureProfile(name=name, kind=NUMERIC, count=len(x), missing=missing, mean=mean, m2=m2,
                          min=float(x.min()), max=float(x.max()), edges=[float(e) for e in edges],
                          bin_counts=counts.tolist(), bin_sums=sums.tolist(), sample=sample.tolist())


def _bin_index(edges: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Bin of each value: ``i`` for ``edges[i-1] <= x < edges[i]`` (``searchsorted(..., side="right")``)."""
    import numpy as np

    if len(edges) > 32:
        return np.searchsorted(edges, x, side="right")
    index = np.zeros(len(x), dtype=np.intp)
    for edge in edges:  # a few vectorised comparisons beat a binary search per value for few edges
        index += x >= edge
    return index


def _value_counts(column: Column) -> tuple[list[object], list[int], int]:
    """Distinct non-missing values, their counts, and the column's length (pandas or pyarrow input)."""
    if _is_arrow(column):
        import pyarrow.compute as pc

        counts = pc.value_counts(column)
        values, ns = counts.field("values").to_pylist(), counts.field("counts").to_pylist()
        kept = [(v, n) for v, n in zip(values, ns, strict=True) if v is not None]
        return [v for v, _ in kept], [n for _, n in kept], len(column)
    import pandas as pd

    series = column if isinstance(column, pd.Series) else pd.Series(column)
    counts = series.value_counts(dropna=True, sort=False)
    return counts.index.tolist(), counts.tolist(), len(series)


def _categorical(name: str, column: Column, pinned: list[str], *, max_categories: int) -> FeatureProfile:
    values, ns, total = _value_counts(column)  # count first, stringify only the distinct values
    frequencies: dict[str, int] = {}
    for value, n in zip(values, ns, strict=True):
        if not n:  # pandas Categorical lists its unused categories
            continue
        key = _category_key(value)
        frequencies[key] = frequencies.get(key, 0) + int(n)
    count = sum(frequencies.values())
    return FeatureProfile(name=name, kind=CATEGORICAL, count=count, missing=total - count,
                          frequencies=_cap(frequencies, max_categories, pinned), pinned=list(pinned))


def _category_key(value: object) -> str:
    """A category's text; integral floats as integers, so an int column that gained NaNs (and became
    float) keeps its categories: ``1.0`` -> ``"1"``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _cap(frequencies: dict[str, int], max_categories: int, pinned: list[str]) -> dict[str, int]:
    """Keep the pinned categories plus the ``max_categories`` most frequent others; fold the rest."""
    other = frequencies.get(OTHER, 0)
    keep = set(pinned)
    ranked = sorted((k for k in frequencies if k != OTHER and k not in keep),
                    key=lambda k: (-frequencies[k], k))
    room = max_categories
    keep.update(ranked[:room])
    other += sum(frequencies[k] for k in ranked[room:])
    present = [k for k in keep if k in frequencies]
    out = {k: frequencies[k] for k in sorted(present, key=lambda k: (-frequencies[k], k))}
    if other:
        out[OTHER] = other
    return out


def _merge_numeric(a: FeatureProfile, b: FeatureProfile, max_sample: int | None) -> FeatureProfile:
    import numpy as np

    if a.count and b.count and a.edges != b.edges:
        raise ProfileMismatchError(
            f"cannot merge feature {a.name!r}: bin edges differ "
            "(profile every chunk with the same reference)")
    if not b.count:
        return _with_missing(a, b.missing)
    if not a.count:
        return _with_missing(b, a.missing)
    n = a.count + b.count
    (a_mean, a_min, a_max), (b_mean, b_min, b_max) = _moments(a), _moments(b)
    delta = b_mean - a_mean
    mean = a_mean + delta * b.count / n
    m2 = a.m2 + b.m2 + delta * delta * a.count * b.count / n
    counts = (np.asarray(a.bin_counts) + np.asarray(b.bin_counts)).tolist()
    sums = (np.asarray(a.bin_sums, dtype=float) + np.asarray(b.bin_sums, dtype=float)).tolist()
    limit = max_sample if max_sample is not None else max(len(a.sample), len(b.sample))
    return FeatureProfile(name=a.name, kind=NUMERIC, count=n, missing=a.missing + b.missing, mean=mean, m2=m2,
                          min=min(a_min, b_min), max=max(a_max, b_max), edges=list(a.edges),
                          bin_counts=counts, bin_sums=sums, sample=_merge_samples(a, b, limit))


def _moments(fp: FeatureProfile) -> tuple[float, float, float]:
    """``mean``, ``min``, ``max`` of a numeric profile with values (set whenever ``count`` > 0)."""
    return cast(float, fp.mean), cast(float, fp.min), cast(float, fp.max)


def _with_missing(fp: FeatureProfile, extra_missing: int) -> FeatureProfile:
    return FeatureProfile(**{**fp.__dict__, "missing": fp.missing + extra_missing})


def _merge_samples(a: FeatureProfile, b: FeatureProfile, limit: int) -> list[float]:
    """A uniform sample of both inputs' values: how many come from each side is hypergeometric."""
    import numpy as np

    if len(a.sample) + len(b.sample) <= limit and len(a.sample) == a.count and len(b.sample) == b.count:
        return list(a.sample) + list(b.sample)
    rng = np.random.default_rng([a.count, b.count, len(a.sample), len(b.sample)])
    size = min(limit, a.count + b.count)
    from_a = int(rng.hypergeometric(a.count, b.count, size))
    from_a = min(max(from_a, size - len(b.sample)), len(a.sample))  # only binds when inputs are under-sampled
    part_a = rng.choice(np.asarray(a.sample), size=from_a, replace=False)
    part_b = rng.choice(np.asarray(b.sample), size=size - from_a, replace=False)
    merged: list[float] = np.concatenate([part_a, part_b]).tolist()
    return merged


def _opt_float(value: SupportsFloat | None) -> float | None:
    return None if value is None else float(value)
