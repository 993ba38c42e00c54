"""Size check: the rule-of-thumb verdict, and a learning curve that tells a rising
curve (a small slice of a hard task) from a saturated one (the templated demo)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dataqa.checks.base import Context
from dataqa.checks.size import SizeCheck, fit_power_law, learning_curve
from dataqa.dataset import from_frame


def test_rule_of_thumb_verdict(banking77_train):
    df = banking77_train.dropna()
    few = df.groupby("category", group_keys=False).head(8)  # 616 rows, 8 per class
    result = SizeCheck(learning_curve=False).run(
        from_frame(few, text_col="text", label_col="category"), Context(seed=0)
    )
    checks = {f.check: f for f in result.findings}
    assert checks["size.total"].severity == "warning"
    assert checks["size.per_class"].evidence["classes"] == dict.fromkeys(
        sorted(few["category"].unique()), 8
    )
    assert set(checks["size.per_class"].row_ids) == set(range(len(few)))
    assert result.stats["verdict"]["rule_of_thumb"] == "insufficient"

    full = SizeCheck(learning_curve=False).run(
        from_frame(df, text_col="text", label_col="category"), Context(seed=0)
    )
    assert "size.total" not in {f.check for f in full.findings}
    assert full.stats["verdict"]["rule_of_thumb"] == "borderline"  # 2 intents under 50 rows


def test_learning_curve_rises_on_a_small_slice_of_banking77(banking77_train):
    df = banking77_train.dropna()
    classes = sorted(df["category"].unique())[:20]
    small = df[df["category"].isin(classes)].groupby("category", group_keys=False).head(40)
    result = SizeCheck().run(from_frame(small, text_col="text", label_col="category"), Context())
    curve = result.stats["learning_curve"]
    acc = [pt["accuracy"] for pt in curve["points"]]
    assert len(acc) == 5 and acc[-1] > acc[0] + 0.15  # a steep, measured climb
    assert curve["config"]["folds"] == 5 and curve["config"]["cheap"]
    fit = curve["fit"]
    assert fit["expected_gain_2x"] >= 0.02
    found = [f for f in result.findings if f.check == "size.learning_curve"]
    assert found and found[0].evidence["expected_gain_2x"] == fit["expected_gain_2x"]
    chart = result.stats["charts"][0]
    assert chart["type"] == "line" and len(chart["data"]["x"]) == 5
    assert set(chart["data"]["series"]) == {"cv accuracy", "power-law fit"}


def test_learning_curve_is_flat_on_the_templated_demo(demo_ds):
    result = SizeCheck().run(demo_ds, Context(seed=0))
    fit = result.stats["learning_curve"]["fit"]
    assert fit["expected_gain_2x"] < 0.01
    assert "size.learning_curve" not in {f.check for f in result.findings}
    assert "size.total" in {f.check for f in result.findings}  # 1,200 rows < 3,000


def test_power_law_fit_recovers_a_known_curve():
    n = np.array([100, 200, 400, 800, 1000], dtype=float)
    err = 2.0 * n**-0.5 + 0.05
    fit = fit_power_law(n.tolist(), err.tolist(), n_now=1000)
    assert fit["b"] == pytest.approx(0.5, abs=0.02)
    assert fit["c"] == pytest.approx(0.05, abs=0.005)
    truth_2x = 1 - (2.0 * 2000**-0.5 + 0.05)
    assert fit["accuracy_at_2n"] == pytest.approx(truth_2x, abs=0.002)
    assert fit_power_law([1, 2], [0.5, 0.4], n_now=2) is None


def test_curve_bounds_rows_and_is_deterministic():
    rng = np.random.default_rng(0)
    words = np.array(["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta"])
    labels = rng.integers(0, 2, 600)
    texts = [
        " ".join(rng.choice(words[:5] if y else words[3:], 6)) + f" w{rng.integers(50)}"
        for y in labels
    ]
    a = learning_curve(texts, labels, max_rows=300, seed=1)
    b = learning_curve(texts, labels, max_rows=300, seed=1)
    assert a == b
    assert a["config"]["rows_used"] == 300
    assert any("sample of 300" in n for n in a["notes"])


def test_bad_classifier_option_is_a_clear_error():
    from dataqa.errors import DataQAError

    ds = from_frame(pd.DataFrame({"text": ["a b"] * 20, "label": ["x", "y"] * 10}))
    with pytest.raises(DataQAError, match="'cheap' or 'full'"):
        SizeCheck(classifier="huge").run(ds, Context())
