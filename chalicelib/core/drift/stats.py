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


# ---- power and minimum detectable effect ---------------------------------------------------------
# What a test can see at the sample sizes it ran on, stated beside each verdict. Both are closed-form
# approximations under a stated alternative (tests/unit/drift compare them with simulated tests):
#
# - KS against a normal feature shifted by ``shift`` standard deviations (then Wasserstein/std = shift):
#   the two-sample z-test's power at the KS test's Pitman efficiency for normal shifts, 2/pi (the
#   effective sample size n_ref * n_cur / (n_ref + n_cur) scaled by it);
# - chi-square of homogeneity against category shares that moved by a Jensen-Shannon distance ``d``
#   (base 2): the noncentral chi-square with k - 1 degrees of freedom and noncentrality
#   n_eff * 8 ln 2 * d^2 (for small moves the chi-square divergence from the mixture is 8 ln 2 JSD).

KS_PITMAN_EFFICIENCY = 2.0 / 3.141592653589793
POWER_TARGET = 0.8  # the minimum detectable effect is the smallest effect detected this often


def effective_n(n_reference: int, n_current: int) -> float:
    """``n_ref * n_cur / (n_ref + n_cur)``: what two samples are worth to a two-sample test."""
    total = n_reference + n_current
    return n_reference * n_current / total if total else 0.0


def ks_power(n_reference: int, n_current: int, shift: float, alpha: float) -> float:
    """Approximate power of the two-sample KS test at level ``alpha`` against a normal location shift of
    ``shift`` standard deviations (see above)."""
    from scipy.stats import norm

    z = float(norm.isf(alpha / 2))
    s = abs(shift) * (effective_n(n_reference, n_current) * KS_PITMAN_EFFICIENCY) ** 0.5
    return float(norm.cdf(s - z) + norm.cdf(-s - z))


def ks_detectable_shift(n_reference: int, n_current: int, alpha: float, power: float = POWER_TARGET
                        ) -> float | None:
    """The smallest normal shift (in standard deviations) :func:`ks_power` detects with ``power``."""
    from scipy.optimize import brentq

    if effective_n(n_reference, n_current) <= 0:
        return None
    return float(brentq(lambda d: ks_power(n_reference, n_current, d, alpha) - power, 0.0, 1e3))


def chi2_power(n_reference: int, n_current: int, categories: int, js: float, alpha: float) -> float | None:
    """Approximate power of the chi-square test of homogeneity (``categories`` columns, level ``alpha``)
    against category shares that moved by Jensen-Shannon distance ``js`` (see above); None with fewer than
    two categories (nothing can move)."""
    import math

    from scipy.stats import chi2, ncx2

    if categories < 2:
        return None
    df = categories - 1
    noncentrality = effective_n(n_reference, n_current) * 8.0 * math.log(2.0) * js * js
    return float(ncx2.sf(chi2.isf(alpha, df), df, noncentrality))


def chi2_detectable_js(n_reference: int, n_current: int, categories: int, alpha: float,
                       power: float = POWER_TARGET) -> float | None:
    """The smallest Jensen-Shannon distance :func:`chi2_power` detects with ``power`` (at most 1: None
    when even a complete change would not be)."""
    from scipy.optimize import brentq

    if categories < 2 or effective_n(n_reference, n_current) <= 0:
        return None
    if (chi2_power(n_reference, n_current, categories, 1.0, alpha) or 0.0) < power:
        return None
    return float(brentq(lambda d: (chi2_power(n_reference, n_current, categories, d, alpha) or 0.0) - power,
                        0.0, 1.0))
