"""The shared statistics (dataqa.stats), against hand computations."""

from __future__ import annotations

import numpy as np
import pytest

from dataqa.stats import adjust, bh_reject, cramers_v, wilson_lower


def test_adjust_wilson_and_cramers_v_match_hand_computations():
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan, 0.2])
    np.testing.assert_allclose(adjust(p, "bh"), [0.025, 0.05, 0.05, 0.025, np.nan, 0.2])
    np.testing.assert_allclose(adjust(p, "holm"), [0.04, 0.09, 0.09, 0.025, np.nan, 0.2])
    assert wilson_lower(np.array([20]), np.array([20]))[0] == pytest.approx(0.8389, abs=1e-3)
    assert cramers_v(np.array([[50, 50], [50, 50]]))[2] == 0.0
    assert cramers_v(np.array([[100, 0], [0, 100]]))[2] == pytest.approx(1.0, abs=0.01)


def test_benjamini_hochberg_matches_hand_computation():
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216])
    # thresholds k*0.05/10: 0.005 0.01 0.015 0.02 0.025 ...; the largest k with p(k) <= is 2
    assert bh_reject(p, 0.05).tolist() == [True, True] + [False] * 8
    assert not bh_reject(np.full(50, 0.5), 0.05).any()
