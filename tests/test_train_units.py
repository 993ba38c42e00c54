"""The fine-tune package's pure parts: statistics, verdict, schedule, batching, split, search.

No model is trained here; every expected value is computed by hand or constructed.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dataqa.dataset import from_frame
from dataqa.train.batching import bucket_batches, collate
from dataqa.train.compare import compare, error_analysis, mcnemar, paired_bootstrap
from dataqa.train.evaluate import metrics
from dataqa.train.finetune import lr_factor, overfitting_verdict
from dataqa.train.search import candidates, grid, parse_space, random_settings, run_search
from dataqa.train.split import make_splits, stratified_ids

# ---- McNemar and the paired bootstrap ---------------------------------------------------


def _pairs(only_a: int, only_b: int, both: int, neither: int):
    a = [True] * only_a + [False] * only_b + [True] * both + [False] * neither
    b = [False] * only_a + [True] * only_b + [True] * both + [False] * neither
    return np.array(a), np.array(b)


def test_mcnemar_exact_binomial_known_answer():
    a, b = _pairs(only_a=2, only_b=10, both=50, neither=8)
    out = mcnemar(a, b)
    # two-sided exact: 2 * P(X <= 2), X ~ Bin(12, 0.5) = 2 * (1 + 12 + 66) / 4096
    assert out["method"] == "exact binomial"
    assert out["only_a"] == 2 and out["only_b"] == 10
    assert out["p_value"] == pytest.approx(158 / 4096, rel=1e-9)


def test_mcnemar_chi_square_known_answer():
    a, b = _pairs(only_a=15, only_b=30, both=100, neither=5)
    out = mcnemar(a, b)
    # (|30 - 15| - 1)^2 / 45 = 196 / 45; p = chi2.sf(4.3556, 1) = 0.036888
    assert out["statistic"] == pytest.approx(196 / 45)
    assert out["p_value"] == pytest.approx(0.0368884, abs=1e-6)


def test_mcnemar_no_discordant_rows_is_p_one():
    a, b = _pairs(0, 0, 10, 3)
    assert mcnemar(a, b)["p_value"] == 1.0


def test_bootstrap_degenerate_cases_are_exact():
    a, b = _pairs(only_a=0, only_b=40, both=0, neither=0)
    out = paired_bootstrap(a, b, n_boot=500)
    assert out["diff"] == 1.0 and out["ci_low"] == 1.0 and out["ci_high"] == 1.0
    a, b = _pairs(0, 0, 30, 10)
    out = paired_bootstrap(a, b, n_boot=500)
    assert out["diff"] == 0.0 and out["ci_low"] == 0.0 and out["ci_high"] == 0.0


def test_bootstrap_ci_matches_the_normal_approximation():
    # 1000 rows: b right and a wrong on 120, the reverse on 60 -> diff 0.06
    a, b = _pairs(only_a=60, only_b=120, both=700, neither=120)
    out = paired_bootstrap(a, b, n_boot=20_000, seed=1)
    n, p, m = 1000, 0.12, 0.06
    sd = math.sqrt((p + m - (p - m) ** 2) / n)  # sd of the mean of a {-1, 0, 1} variable
    assert out["diff"] == pytest.approx(0.06)
    assert out["ci_low"] == pytest.approx(0.06 - 1.96 * sd, abs=0.004)
    assert out["ci_high"] == pytest.approx(0.06 + 1.96 * sd, abs=0.004)
    again = paired_bootstrap(a, b, n_boot=20_000, seed=1)
    assert again == out  # deterministic per seed


def test_bootstrap_refuses_unpaired_rows():
    with pytest.raises(ValueError):
        paired_bootstrap([True, False], [True])


def test_compare_and_error_analysis_on_constructed_predictions():
    y = ["a"] * 10 + ["b"] * 10 + ["c"] * 10
    raw = ["a"] * 10 + ["c"] * 10 + ["c"] * 10  # all b -> c
    cur = ["a"] * 10 + ["b"] * 10 + ["c"] * 8 + ["a"] * 2  # fixes b, breaks two c
    comp = compare(y, raw, cur, n_boot=2000)
    assert comp["accuracy_a"] == pytest.approx(20 / 30)
    assert comp["accuracy_b"] == pytest.approx(28 / 30)
    assert comp["mcnemar"]["only_b"] == 10 and comp["mcnemar"]["only_a"] == 2
    assert comp["outcome"] == "better"
    ma, mb = metrics(y, raw, ["a", "b", "c"]), metrics(y, cur, ["a", "b", "c"])
    err = error_analysis(
        y,
        raw,
        cur,
        ids=list(range(100, 130)),
        texts=[f"t{i}" for i in range(30)],
        metrics_a=ma,
        metrics_b=mb,
    )
    assert err["confused_pairs_a"][0] == {"true": "b", "predicted": "c", "count": 10}
    assert err["confused_pairs_b"][0] == {"true": "c", "predicted": "a", "count": 2}
    assert {d["label"] for d in err["classes_worse"]} == {"a"}  # a's precision fell
    assert {r["row_id"] for r in err["newly_wrong"]} == {128, 129}
    assert err["counts"] == {"wrong_a": 10, "wrong_b": 2, "newly_wrong": 2, "newly_right": 10}


def test_metrics_known_confusion():
    y = ["x", "x", "y", "y"]
    p = ["x", "y", "y", "y"]
    m = metrics(y, p, ["x", "y"])
    assert m["accuracy"] == 0.75
    assert m["confusion"]["matrix"] == [[1, 1], [0, 2]]
    per = {c["label"]: c for c in m["per_class"]}
    assert per["x"]["precision"] == 1.0 and per["x"]["recall"] == 0.5
    assert per["y"]["precision"] == pytest.approx(2 / 3)
    assert m["macro"]["f1"] == pytest.approx((2 / 3 + 0.8) / 2)


# ---- overfitting verdict -----------------------------------------------------------------


def _hist(train, val):
    return [
        {"step": 10 * (i + 1), "epoch": 0.5 * (i + 1), "train_loss": t, "val_loss": v}
        for i, (t, v) in enumerate(zip(train, val, strict=True))
    ]


def test_verdict_fires_on_an_overfit_history():
    h = _hist([2.0, 1.2, 0.8, 0.5, 0.3, 0.2], [2.0, 1.4, 1.1, 1.2, 1.35, 1.5])
    v = overfitting_verdict(h, restored=h[2])
    assert v["overfitting"] is True
    assert v["began_epoch"] == 1.5 and v["best_step"] == 30
    assert v["gap_last"] == pytest.approx(1.3)
    assert v["val_loss_rise"] == pytest.approx(0.4 / 1.1, abs=1e-4)
    assert "best checkpoint was restored" in v["message"]


def test_verdict_silent_on_a_healthy_history():
    h = _hist([2.0, 1.2, 0.8, 0.6, 0.5, 0.45], [2.0, 1.3, 1.0, 0.9, 0.86, 0.85])
    v = overfitting_verdict(h)
    assert v["overfitting"] is False and v["checked"] is True


def test_verdict_ignores_noise_and_rises_without_train_progress():
    noisy = _hist([2.0, 1.0, 0.9, 0.85, 0.8], [1.0, 0.90, 0.89, 0.91, 0.90])  # +1%: noise
    assert overfitting_verdict(noisy)["overfitting"] is False
    tiny = _hist([0.2, 0.1, 0.05, 0.04, 0.03], [0.10, 0.05, 0.04, 0.05, 0.055])  # +0.015 abs
    assert overfitting_verdict(tiny)["overfitting"] is False
    stuck = _hist([1.0, 0.9, 0.95, 1.0, 1.1], [1.0, 0.8, 0.9, 1.0, 1.1])  # train rose too
    assert overfitting_verdict(stuck)["overfitting"] is False
    assert overfitting_verdict(_hist([1.0, 0.5], [1.0, 2.0]))["checked"] is False


# ---- schedule and batching ---------------------------------------------------------------


def test_lr_schedule_warms_up_then_decays_to_zero():
    total, warm = 100, 10
    assert lr_factor(0, total, warm, "linear") == pytest.approx(0.1)
    assert lr_factor(9, total, warm, "linear") == pytest.approx(1.0)
    assert lr_factor(55, total, warm, "linear") == pytest.approx(0.5)
    assert lr_factor(100, total, warm, "linear") == 0.0
    assert lr_factor(55, total, warm, "cosine") == pytest.approx(0.5)
    assert lr_factor(10, total, warm, "cosine") == pytest.approx(1.0)
    assert lr_factor(80, total, warm, "constant") == 1.0


def test_bucketed_batches_cover_every_row_once_and_group_lengths():
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 80, 1000)
    batches = bucket_batches(lengths, 16, shuffle=True, seed=3)
    rows = np.concatenate(batches)
    assert sorted(rows.tolist()) == list(range(1000))
    assert all(len(b) <= 16 for b in batches)

    # padding waste: bucketed batches pad far less than random ones
    def waste(bs):
        return sum(lengths[b].max() * len(b) - lengths[b].sum() for b in bs)

    random_batches = np.array_split(rng.permutation(1000), math.ceil(1000 / 16))
    assert waste(batches) < 0.25 * waste(random_batches)
    again = bucket_batches(lengths, 16, shuffle=True, seed=3)
    assert all((x == y).all() for x, y in zip(batches, again, strict=True))


def test_collate_pads_to_the_longest_row_of_the_batch():
    ids = [[1, 2, 3], [4], [5, 6, 7, 8, 9]]
    input_ids, mask = collate(ids, np.array([0, 1]), pad_id=0)
    assert input_ids.tolist() == [[1, 2, 3], [4, 0, 0]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0]]


# ---- the validation split ----------------------------------------------------------------


def _frame(n_per_class=20, classes=("a", "b", "c"), prefix="train"):
    rows = [
        {"text": f"{prefix} row {c} {i} words here", "label": c}
        for c in classes
        for i in range(n_per_class)
    ]
    return pd.DataFrame(rows)


def test_stratified_split_is_seeded_and_keeps_each_class():
    labels = pd.Series(["a"] * 30 + ["b"] * 10 + ["c"] * 1)
    val = stratified_ids(labels, 0.2, seed=5)
    counts = labels.loc[val].value_counts().to_dict()
    assert counts == {"a": 6, "b": 2}  # a 1-row class never loses its only row
    assert stratified_ids(labels, 0.2, seed=5).equals(val)
    assert not stratified_ids(labels, 0.2, seed=6).equals(val)


def test_validation_split_never_touches_test_rows_and_is_shared_by_id():
    train = _frame()
    test = _frame(5, prefix="test")
    # two training rows leak into the test set (same text, different case/spaces)
    test.loc[0, "text"] = train.loc[3, "text"].upper()
    test.loc[1, "text"] = "  " + train.loc[25, "text"]
    raw = from_frame(train, source="raw")
    curated = raw.subset(raw.ids[raw.ids % 4 != 0])  # curation dropped a quarter of the rows
    test_ds = from_frame(test, source="test")
    (s_raw, s_cur), leaked = make_splits([raw, curated], test_ds, frac=0.25, seed=0)
    assert set(leaked[0]) == {3, 25}
    test_texts = set(test["text"].str.lower().str.split().str.join(" "))
    for ds, sp in ((raw, s_raw), (curated, s_cur)):
        assert set(sp.val) <= set(ds.ids) and not set(sp.val) & set(sp.train)
        val_text = set(ds.text.loc[sp.val].str.lower().str.split().str.join(" "))
        assert not val_text & test_texts
    assert set(s_cur.val) == set(s_raw.val) & set(curated.ids)  # same rows, by id
    again, _ = make_splits([raw, curated], test_ds, frac=0.25, seed=0)
    assert list(again[0].val) == list(s_raw.val)


def test_rows_derived_from_validation_rows_are_held_out():
    raw = from_frame(_frame(), source="raw")
    splits, _ = make_splits([raw], None, frac=0.2, seed=0)
    val_row = splits[0].val[0]
    aug = raw.frame.copy()
    aug["dataqa_source_id"] = None
    extra = pd.DataFrame(
        {
            "text": ["paraphrase of a validation row", "paraphrase of a training row"],
            "label": ["a", "a"],
            "dataqa_source_id": [val_row, splits[0].train[0]],
        },
        index=pd.Index(["aug-0", "aug-1"], name=aug.index.name),
    )
    cur = raw.with_frame(pd.concat([aug, extra]))
    (_, s_cur), _ = make_splits([raw, cur], None, frac=0.2, seed=0)
    assert "aug-0" in set(s_cur.held_out) and "aug-0" not in set(s_cur.train)
    assert "aug-1" in set(s_cur.train)


# ---- search ------------------------------------------------------------------------------


def test_search_selects_on_validation_only():
    # a trial only ever reports validation numbers; the "hidden test" score below
    # favours another setting, and must not influence the choice
    val_acc = {1e-5: 0.70, 3e-5: 0.91, 1e-4: 0.80}
    hidden_test = {1e-5: 0.95, 3e-5: 0.60, 1e-4: 0.70}  # noqa: F841 - deliberately unused
    settings = [{"lr": lr} for lr in val_acc]
    res = run_search(
        lambda s: {"val_accuracy": val_acc[s["lr"]], "val_loss": 1 - val_acc[s["lr"]]},
        settings,
        method="grid",
    )
    assert res.trials[res.best_index]["settings"] == {"lr": 3e-5}
    assert [t["selected"] for t in res.trials] == [False, True, False]
    by_loss = run_search(
        lambda s: {"val_accuracy": 0.5, "val_loss": {1e-5: 0.3, 3e-5: 0.2, 1e-4: 0.4}[s["lr"]]},
        settings,
        method="grid",
        metric="val_loss",
    )
    assert by_loss.best_index == 1


def test_search_budget_in_trials_and_seconds():
    calls = []

    def trial(s):
        calls.append(s)
        return {"val_accuracy": s["lr"], "val_loss": 0.0}

    settings = [{"lr": v} for v in (0.1, 0.2, 0.3, 0.4)]
    res = run_search(trial, settings, method="grid", max_trials=2)
    assert len(calls) == 2 and res.stopped_by == "trials"
    assert res.trials[res.best_index]["settings"] == {"lr": 0.2}
    calls.clear()
    res = run_search(trial, settings, method="grid", max_seconds=0.0)
    assert len(calls) == 1 and res.stopped_by == "seconds"
    assert [t["status"] for t in res.trials][1:] == ["skipped (time budget)"] * 3


def test_grid_and_random_candidates():
    space = parse_space(["lr=1e-5,1e-4", "batch_size=16,32", "dropout=0.1,0.3"])
    assert len(grid(space)) == 2 * 2 * 2 * 2  # weight_decay keeps its two default values
    assert "epochs" not in space  # not named: stays as configured
    assert len(candidates("grid", space, 3)) == 3
    draws = random_settings(space, 50, seed=0)
    assert draws == random_settings(space, 50, seed=0)
    assert all(1e-5 <= d["lr"] <= 1e-4 and 0.1 <= d["dropout"] <= 0.3 for d in draws)
    assert {d["batch_size"] for d in draws} == {16, 32}
    from dataqa.errors import DataQAError

    with pytest.raises(DataQAError, match="cannot search over"):
        parse_space(["momentum=0.9"])
