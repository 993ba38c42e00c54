"""The statistics every check shares, once: multiple testing, proportions, association.

Where scipy has the method it is used (Benjamini-Hochberg is scipy's
`false_discovery_control`, the chi-square test `chi2_contingency`). Holm's step-down
adjustment is four lines and not in scipy; statsmodels has it but is a large
dependency to take for four lines, so it is written here.
"""

from __future__ import annotations

import math

import numpy as np


def adjust(p_values, method: str = "bh") -> np.ndarray:
    """Adjusted p-values: Benjamini-Hochberg (false discovery rate) or Holm (family-wise).

    Parameters
    ----------
    p_values : array-like of float
        NaN for tests that were not run: they stay NaN and do not count in the family.
    method : {"bh", "holm"}, default "bh"

    Returns
    -------
    numpy.ndarray of float, same shape.
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if not ok.any():
        return out
    if method == "holm":
        q = p[ok]
        m = q.size
        order = np.argsort(q, kind="stable")
        adj = np.maximum.accumulate((m - np.arange(m)) * q[order])
        res = np.empty(m)
        res[order] = np.minimum(adj, 1.0)
        out[ok] = res
    else:
        from scipy.stats import false_discovery_control

        out[ok] = false_discovery_control(p[ok], method="bh")
    return out


def bh_reject(p_values, q: float) -> np.ndarray:
    """Which tests the Benjamini-Hochberg step-up procedure rejects at false discovery rate q.

    Returns
    -------
    numpy.ndarray of bool, one per p-value.
    """
    p = np.asarray(p_values, dtype=float)
    return adjust(p, "bh") <= q if p.size else np.zeros(0, dtype=bool)


def wilson_lower(hits, n, z: float = 1.96) -> np.ndarray:
    """Lower end of the Wilson score interval of a proportion (95% by default; Wilson, 1927).

    Parameters
    ----------
    hits, n : array-like
        Successes and trials (n < 1 is read as 1).
    z : float, default 1.96
        Normal quantile of the two-sided interval.
    """
    hits = np.asarray(hits, dtype=float)
    n = np.maximum(np.asarray(n, dtype=float), 1.0)
    phat = hits / n
    denom = 1 + z * z / n
    centre = phat + z * z / (2 * n)
    margin = z * np.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n))
    return (centre - margin) / denom


def cramers_v(table) -> tuple[float, float, float, int]:
    """Association in a contingency table: (chi2, p, bias-corrected Cramér's V, dof).

    V is Bergsma's (2013) bias-corrected estimate, which does not inflate for small
    tables; empty rows and columns are dropped first. A table with fewer than two
    non-empty rows or columns gives (0, 1, 0, 0).
    """
    from scipy.stats import chi2_contingency

    table = np.asarray(table, dtype=float)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    r, c = table.shape
    if r < 2 or c < 2:
        return 0.0, 1.0, 0.0, 0
    chi2, pval, dof, _ = chi2_contingency(table, correction=False)
    n = table.sum()
    phi2 = max(chi2 / n - (c - 1) * (r - 1) / (n - 1), 0.0)
    rc = r - (r - 1) ** 2 / (n - 1)
    cc = c - (c - 1) ** 2 / (n - 1)
    denom = min(rc - 1, cc - 1)
    v = math.sqrt(phi2 / denom) if denom > 0 else 0.0
    return float(chi2), float(pval), float(v), int(dof)
