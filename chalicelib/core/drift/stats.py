"""The statistics behind the detectors, on profile pieces (counts, samples): small pure functions.

Each one is the textbook formula or a thin call into scipy, so tests compare them with scipy directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np

PSI_EPS = 1e-4  # share given to an empty bin in PSI, so it does not give an infinite index


def psi(reference_counts: Sequence[float], current_counts: Sequence[float], eps: float = PSI_EPS) -> float:
    """Population stability index ``sum((c - r) * ln(c / r))`` of the two count vectors' shares.

    An empty bin's share is replaced by ``eps`` (Evidently's convention); other shares are used as they
    are, however small, so a rare bin that became common counts in full.
    """
    import numpy as np

    r = np.asarray(reference_counts, dtype=float)
    c = np.asarray(current_counts, dtype=float)
    if r.sum() == 0 or c.sum() == 0:
        return 0.0
    r = r / r.sum()
    c = c / c.sum()
    r[r == 0] = eps
    c[c == 0] = eps
    return float(np.sum((c - r) * np.log(c / r)))


def chi2_counts(reference_counts: Sequence[float], current_counts: Sequence[float]
                ) -> tuple[float, float, int]:
    """Chi-square test of homogeneity of the 2 x K table (no continuity correction): (chi2, p, dof).

    Bins empty on both sides are dropped; with fewer than two bins left the samples cannot differ.
    """
    import numpy as np
    from scipy.stats import chi2_contingency

    table = np.vstack([np.asarray(reference_counts, dtype=float), np.asarray(current_counts, dtype=float)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0, 0
    chi2, p, dof, _ = chi2_contingency(table, correction=False)
    return float(chi2), float(p), int(dof)


def ks(reference_sample: np.ndarray, current_sample: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov test (scipy, exact p-value for small samples): (D, p)."""
    from scipy.stats import ks_2samp

    res = ks_2samp(reference_sample, current_sample)
    return float(res.statistic), float(res.pvalue)


def wasserstein(reference_sample: np.ndarray, current_sample: np.ndarray, scale: float) -> float:
    """Wasserstein-1 distance between the samples divided by ``scale`` (absolute when scale is 0)."""
    from scipy.stats import wasserstein_distance

    distance = float(wasserstein_distance(reference_sample, current_sample))
    return distance / scale if scale > 0 else distance


def binned_wasserstein(edges: Sequence[float], reference_counts: Sequence[float],
                       reference_sums: Sequence[float], current_counts: Sequence[float],
                       current_sums: Sequence[float]) -> float:
    """Wasserstein-1 distance ``integral |F_r - F_c| dx`` of all rows, from per-bin counts and sums.

    ``integral F`` over each bin (and ``integral 1 - F`` over the open top bin) is exact from the bin's
    count, sum and the counts below it, so the result is ``sum over bins |integral (F_r - F_c)|``: equal to
    the exact distance when ``F_r - F_c`` keeps its sign within every bin (shifts, scalings away from the
    crossing point), a lower bound otherwise. Without inner edges it is ``|mean_r - mean_c|``.
    """
    import numpy as np

    e = np.asarray(edges, dtype=float)
    parts = []
    for counts, sums in ((reference_counts, reference_sums), (current_counts, current_sums)):
        n_bin = np.asarray(counts, dtype=float)
        s_bin = np.asarray(sums, dtype=float)
        n = n_bin.sum()
        if n == 0:
            return 0.0
        if len(e) == 0:
            parts.append(np.array([s_bin.sum() / n]))
            continue
        below = np.concatenate([[0.0], np.cumsum(n_bin)[:-1]])
        upper = np.concatenate([e, [np.nan]])
        lower = np.concatenate([[np.nan], e])
        integral = n_bin * upper - s_bin  # sum of (upper edge - x) over the bin's values
        integral[1:-1] += below[1:-1] * (upper[1:-1] - lower[1:-1])
        integral[-1] = -(s_bin[-1] - n_bin[-1] * e[-1])  # minus integral of (1 - F) over the open top bin
        parts.append(integral / n)
    return float(np.abs(parts[0] - parts[1]).sum())


def js_distance(reference_counts: Sequence[float], current_counts: Sequence[float]) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) between two count vectors over the same categories."""
    import numpy as np
    from scipy.spatial.distance import jensenshannon

    r = np.asarray(reference_counts, dtype=float)
    c = np.asarray(current_counts, dtype=float)
    if r.sum() == 0 or c.sum() == 0:
        return 0.0
    return float(jensenshannon(r, c, base=2))


def aligned_counts(reference: dict[str, int], current: dict[str, int]
                   ) -> tuple[list[str], list[int], list[int]]:
    """Both frequency tables over the union of categories (reference order first, then new ones)."""
    keys = list(reference) + sorted(k for k in current if k not in reference)
    return keys, [reference.get(k, 0) for k in keys], [current.get(k, 0) for k in keys]
