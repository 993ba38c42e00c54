"""The shared-statistics ridge member (`labelprobs.ridge_oof`) gives the same out-of-fold
scores as refitting scikit-learn's RidgeClassifier on every fold (`labelprobs._ridge`)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")

from dataqa import labelprobs as L  # noqa: E402


def per_fold(X, y, folds, K, mask=None):
    S = np.zeros((len(y), K), np.float32)
    for train, test in folds:
        if mask is not None:
            train = train[mask[train]]
        S[test] = L._ridge(X[train], y[train], X[test], K, 0)
    return S


@pytest.mark.parametrize("K", [2, 4])
@pytest.mark.parametrize("masked", [False, True])
def test_ridge_oof_matches_refitting_each_fold(K, masked):
    rng = np.random.default_rng(K)
    n, d = 600, 24
    y = rng.integers(0, K, n)
    X = (rng.normal(size=(n, d)) + 0.5 * np.eye(K, d)[y]).astype(np.float32)
    folds = L.make_folds(y, 5, 0)
    mask = rng.random(n) > 0.3 if masked else None
    got = L.ridge_oof(X, y, folds, K, mask)
    want = per_fold(X, y, folds, K, mask)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    # and the generic entry point takes this path for dense features
    np.testing.assert_array_equal(L.oof_scores("ridge", X, y, folds, K, train_mask=mask), got)


def test_ridge_oof_class_missing_from_a_training_fold():
    rng = np.random.default_rng(7)
    n, K = 300, 3
    y = rng.integers(0, K, n)
    X = rng.normal(size=(n, 8)).astype(np.float32)
    folds = L.make_folds(y, 3, 0)
    mask = y != 2  # class 2 never trains: it must score lowest everywhere, as in `_ridge`
    got = L.ridge_oof(X, y, folds, K, mask)
    np.testing.assert_allclose(got, per_fold(X, y, folds, K, mask), rtol=1e-4, atol=1e-4)
    assert (got.argmin(1) == 2).all()
