"""The fine-tune package's pure parts: statistics, verdicts, options, inputs, split, search.

No model is trained here; every expected value is computed by hand or constructed.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dataqa.dataset import from_frame
from dataqa.errors import DataQAError
from dataqa.train.compare import (
    compare,
    error_analysis,
    metric_value,
    outcome,
    replicates,
    two_level_bootstrap,
)
from dataqa.train.evaluate import metrics
from dataqa.train.options import TrainOptions, make_options
from dataqa.train.search import candidates, grid, parse_space, random_settings, run_search
from dataqa.train.split import make_splits, stratified_ids
from dataqa.train.testset import check_inputs
from dataqa.train.verdict import verdict

pytest.importorskip("transformers")
from dataqa.train.callbacks import overfitting_verdict  # noqa: E402

# ---- the two-level bootstrap -------------------------------------------------------------


def _pairs(only_a: int, only_b: int, both: int, neither: int):
    a = [True] * only_a + [False] * only_b + [True] * both + [False] * neither
    b = [False] * only_a + [True] * only_b + [True] * both + [False] * neither
    return np.array(a), np.array(b)


def _as_preds(correct, y):
    """Predictions that are right where `correct` says so (wrong: a label no row has)."""
    return np.where(correct, y, "WRONG").astype(object)


def test_bootstrap_degenerate_cases_are_exact():
    y = np.array(["x"] * 40, dtype=object)
    a, b = _pairs(only_a=0, only_b=40, both=0, neither=0)
    out = two_level_bootstrap(y, [_as_preds(a, y)], [_as_preds(b, y)], n_boot=500)
    assert out["diff"] == 1.0 and out["ci_low"] == 1.0 and out["ci_high"] == 1.0
    assert out["outcome"] == "better"
    a, b = _pairs(0, 0, 30, 10)
    out = two_level_bootstrap(y, [_as_preds(a, y)], [_as_preds(b, y)], n_boot=500)
    assert out["diff"] == 0.0 and out["ci_low"] == 0.0 and out["ci_high"] == 0.0
    assert out["outcome"] == "no measurable difference"


def test_one_run_per_arm_is_the_paired_bootstrap_over_rows():
    # 1000 rows: b right and a wrong on 120, the reverse on 60 -> diff 0.06
    y = np.array(["x"] * 1000, dtype=object)
    a, b = _pairs(only_a=60, only_b=120, both=700, neither=120)
    out = two_level_bootstrap(y, [_as_preds(a, y)], [_as_preds(b, y)], n_boot=4000, seed=1)
    n, p, m = 1000, 0.12, 0.06
    sd = math.sqrt((p + m - (p - m) ** 2) / n)  # sd of the mean of a {-1, 0, 1} variable
    assert out["diff"] == pytest.approx(0.06)
    assert out["ci_low"] == pytest.approx(0.06 - 1.96 * sd, abs=0.005)
    assert out["ci_high"] == pytest.approx(0.06 + 1.96 * sd, abs=0.005)
    again = two_level_bootstrap(y, [_as_preds(a, y)], [_as_preds(b, y)], n_boot=4000, seed=1)
    assert again == out  # deterministic per seed


def test_seed_variance_widens_the_interval():
    """Same mean difference; runs whose scores swing with the seed give a wider CI."""
    rng = np.random.default_rng(0)
    y = rng.choice(["p", "q", "r"], 600).astype(object)
    order = rng.permutation(600)

    def run(acc):  # right on the first acc * n rows of one fixed order: nested runs
        right = np.zeros(600, bool)
        right[order[: int(round(acc * 600))]] = True
        return _as_preds(right, y)

    steady = two_level_bootstrap(y, [run(0.80)] * 3, [run(0.85)] * 3, n_boot=1500)
    noisy = two_level_bootstrap(
        y, [run(a) for a in (0.70, 0.80, 0.90)], [run(b) for b in (0.75, 0.85, 0.95)], n_boot=1500
    )
    assert steady["diff"] == pytest.approx(0.05) and noisy["diff"] == pytest.approx(0.05)
    assert steady["outcome"] == "better" and noisy["outcome"] == "no measurable difference"
    assert (noisy["ci_high"] - noisy["ci_low"]) > 3 * (steady["ci_high"] - steady["ci_low"])
    assert noisy["runs_a"] == [pytest.approx(v) for v in (0.70, 0.80, 0.90)]


def test_macro_f1_matches_sklearn_and_weighs_classes_equally():
    from sklearn.metrics import f1_score

    y = ["a"] * 90 + ["b"] * 10
    p = ["a"] * 90 + ["a"] * 5 + ["b"] * 5
    assert metric_value(y, p, "macro_f1") == pytest.approx(f1_score(y, p, average="macro"))
    assert metric_value(y, p, "accuracy") == pytest.approx(0.95)
    # the minority class fixed: accuracy +5 points, macro-F1 far more
    fixed = two_level_bootstrap(y, [p], [y], metric="macro_f1", n_boot=300)
    assert fixed["diff"] == pytest.approx(1 - (180 / 185 + 10 / 15) / 2)
    assert fixed["diff"] > 0.15 and fixed["outcome"] == "better"


def test_replicates_are_paired_over_rows():
    y = np.array(list("abcd") * 50, dtype=object)
    run = np.where(np.arange(200) % 3 == 0, "z", y).astype(object)
    rep = replicates(y, [[run], [run]], n_boot=200, seed=3)
    assert rep.shape == (200, 2)
    assert np.allclose(rep[:, 0], rep[:, 1])  # same rows drawn for both arms
    assert rep[:, 0].std() > 0
    with pytest.raises(ValueError):
        replicates(y, [[run[:10]]])


def test_outcome_has_three_answers():
    assert outcome(0.001, 0.02) == "better"
    assert outcome(-0.02, -0.001) == "worse"
    assert outcome(-0.01, 0.02) == "no measurable difference"


def test_compare_and_error_analysis_on_constructed_predictions():
    y = ["a"] * 10 + ["b"] * 10 + ["c"] * 10
    raw = ["a"] * 10 + ["c"] * 10 + ["c"] * 10  # all b -> c
    cur = ["a"] * 10 + ["b"] * 10 + ["c"] * 8 + ["a"] * 2  # fixes b, breaks two c
    comp = compare(y, [raw], [cur], n_boot=1000)
    acc = comp["metrics"]["accuracy"]
    assert acc["a"] == pytest.approx(20 / 30) and acc["b"] == pytest.approx(28 / 30)
    assert comp["outcome"] == "better" and comp["runs_a"] == 1
    worse = compare(y, [cur], [raw], n_boot=1000)
    assert worse["outcome"] == "worse"
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


# ---- the verdict in words ----------------------------------------------------------------

BUDGET = {
    "mode": "steps",
    "steps": {"raw": 600, "curated": 600},
    "epochs": {"raw": 8.0, "curated": 10.1},
    "train_rows": {"raw": 2400, "curated": 1900},
    "epochs_asked": 8.0,
    "batch_size": 32,
    "warmup_steps": 60,
    "schedule": "linear",
}


def test_verdict_words_for_each_outcome_and_the_facts_beside_it():
    y = ["a"] * 10 + ["b"] * 10 + ["c"] * 10
    raw = ["a"] * 10 + ["c"] * 10 + ["c"] * 10
    cur = ["a"] * 10 + ["b"] * 10 + ["c"] * 8 + ["a"] * 2
    better = verdict(
        compare(y, [raw] * 3, [cur] * 3), budget=BUDGET, names=["raw", "curated"], seeds=[0, 1, 2]
    )
    assert better["answer"] == "Yes" and better["outcome"] == "better"
    assert better["headline"].startswith("Yes: the model fine-tuned on the curated set is better")
    assert "93.3% vs 66.7%" in better["headline"]
    assert not better["single_seed"] and "3 training runs per set" in better["lines"][0]
    assert better["lines"][1] == (
        "Accuracy per run: raw 66.7%, 66.7%, 66.7%; curated 93.3%, 93.3%, 93.3%."
    )
    assert "600 optimiser steps" in better["lines"][2]
    assert "raw 2,400 training rows (8.0 epochs)" in better["lines"][2]
    assert "Sizes differ" in better["lines"][2]
    worse = verdict(compare(y, [cur], [raw]), budget=BUDGET, names=["raw", "curated"], seeds=[0])
    assert worse["answer"] == "No" and worse["single_seed"]
    assert "Single-seed result" in worse["lines"][0]
    same = verdict(compare(y, [raw], [raw]), budget=BUDGET, names=["raw", "curated"], seeds=[0])
    assert same["answer"] == "No measurable difference"
    assert "include zero" in same["headline"]


def test_no_verdict_when_both_models_are_far_below_the_baseline():
    """Models near chance give "Cannot tell", not "No" (trial: 3.0% vs 1.5% on 77 classes
    against a TF-IDF baseline at 83% read as "worse"); one arm below is still a verdict."""
    from dataqa.train.shared import comparison_finding

    y = (["a"] * 10 + ["b"] * 10 + ["c"] * 10) * 5
    raw = (["a"] * 10 + ["c"] * 10 + ["c"] * 10) * 5
    cur = ["a"] * 150
    good = (["a"] * 10 + ["b"] * 10 + ["c"] * 8 + ["a"] * 2) * 5
    base = compare(y, [good] * 3, [good] * 3)  # the baseline: 93% on both sets

    def against_baseline(a, b):
        return verdict(
            compare(y, [a] * 3, [b] * 3),
            budget=BUDGET,
            names=["raw", "curated"],
            seeds=[0, 1, 2],
            baseline=base,
        )

    v = against_baseline(raw, cur)
    assert v["outcome"] == "worse" and v["answer"] == "Cannot tell" and v["undertrained"]
    assert v["headline"].startswith("Cannot tell: neither fine-tuned model learned")
    assert "66.7% and 33.3% against the TF-IDF baseline's 93.3% and 93.3%" in v["headline"]
    assert comparison_finding(v).severity == "warning"  # not a CI-failing error
    fine = against_baseline(good, cur)
    assert fine["answer"] == "No" and not fine["undertrained"]
    assert comparison_finding(fine).severity == "error"


# ---- options and bad input ---------------------------------------------------------------


def test_options_are_validated_and_take_the_model_defaults():
    opts = TrainOptions()
    assert opts.seeds == 3 and opts.budget == "steps" and opts.lr is None
    pre, tiny = opts.for_model(pretrained=True), opts.for_model(pretrained=False)
    assert pre.lr == 5e-5 and pre.epochs == 3.0 and pre.patience == 3 and pre.dropout is None
    assert tiny.lr > pre.lr and tiny.epochs > pre.epochs and tiny.patience > pre.patience
    assert tiny.dropout == 0.2
    assert TrainOptions(lora=True).for_model(True).lr == 5e-4
    assert TrainOptions(lr=1e-3).for_model(False).lr == 1e-3  # given values win
    assert pre.steps_for(100) == 3 * 4 and pre.model_copy(update={"max_steps": 7}).steps_for(1) == 7
    with pytest.raises(DataQAError, match="finetune.lr=-1 is not allowed"):
        make_options(lr=-1)
    with pytest.raises(DataQAError, match="budget"):
        make_options(budget="flops")
    with pytest.raises(DataQAError, match="finetune has no option 'epoch'"):
        make_options(epoch=3)


def test_cli_flags_show_the_options_models_defaults():
    from dataqa.cli.finetune import TRAIN_FLAGS

    fields = TrainOptions.model_fields
    assert {f[0] for f in TRAIN_FLAGS} <= set(fields)
    for name, _flag, _kind, shown, _help in TRAIN_FLAGS:
        default = fields[name].default
        if default is None or isinstance(default, bool):
            continue  # model-dependent or a flag
        assert str(default) == shown, name


def _ds(rows, source):
    return from_frame(pd.DataFrame(rows, columns=["text", "label"]), source=source)


def test_bad_input_is_refused_before_training():
    test = _ds([("where is my card", "card"), ("what rate today", "fx")], "test.csv")
    full = _ds([("my card has not come", "card"), ("exchange rate please", "fx")], "raw.csv")
    missing = _ds([("my card has not come", "card")], "curated.csv")
    with pytest.raises(DataQAError, match=r"curated training set has no rows of 1 class.*'fx'"):
        check_inputs([full, missing], ["raw", "curated"], test)
    empty = full.subset(full.ids[:0])
    with pytest.raises(DataQAError, match="curated training set is empty"):
        check_inputs([full, empty], ["raw", "curated"], test)
    leaky = _ds([("Where is  my CARD", "card"), ("exchange rate please", "fx")], "leaky.csv")
    with pytest.raises(
        DataQAError, match=r"1 row of the training set 'raw' also appears.*row ids 0"
    ):
        check_inputs([leaky, full], ["raw", "curated"], test)
    kept, leaked = check_inputs([leaky, full], ["raw", "curated"], test, drop_leaked=True)
    assert leaked == {"raw": [0], "curated": []} and list(kept[0].ids) == [1]
    ok, leaked = check_inputs([full, full], ["raw", "curated"], test)
    assert leaked == {"raw": [], "curated": []} and ok[0] is full


def test_near_leaks_are_left_out_of_every_arm_alike():
    """What `clean --against` quarantines as near leakage must not stay in raw: otherwise
    raw is scored on test rows it nearly trained on and curated is blamed for losing them."""
    test = _ds(
        [("how long does it take for my new card to arrive", "card"), ("fx rate now", "fx")],
        "test.csv",
    )
    near = "how long does it take for my new card to arrive here"  # one word added
    raw = _ds([(near, "card"), ("exchange rate please", "fx"), ("card lost", "card")], "raw.csv")
    cur = _ds([("exchange rate please", "fx"), ("card lost", "card")], "curated.csv")
    with pytest.raises(DataQAError, match=r"training set 'raw'.*nearly the same text"):
        check_inputs([raw, cur], ["raw", "curated"], test)
    kept, leaked = check_inputs([raw, cur], ["raw", "curated"], test, drop_leaked=True)
    assert leaked == {"raw": [0], "curated": []} and list(kept[0].ids) == [1, 2]


def test_equal_steps_follow_the_first_set_and_equal_epochs_each_own():
    from dataqa.train.shared import plan_steps as _plan

    opts = TrainOptions(epochs=3, batch_size=10).for_model(True)
    assert _plan(opts, "steps", ref_rows=100, rows=200) == (30, 5)
    assert _plan(opts, "steps", ref_rows=100, rows=50) == (30, 5)
    assert _plan(opts, "epochs", ref_rows=100, rows=200) == (60, 10)
    assert _plan(opts.model_copy(update={"eval_every": 4}), "epochs", 100, 50) == (15, 4)


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
    v = overfitting_verdict(h, restored=True)
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
    with pytest.raises(DataQAError, match="cannot search over"):
        parse_space(["momentum=0.9"])


def test_run_page_answers_readiness_for_the_curated_set_and_shows_the_finetune_verdict():
    from dataqa.report.view import build_view

    raw_error = {
        "check": "duplicates.leakage",
        "severity": "error",
        "message": "leak",
        "row_ids": [1],
    }
    after = [
        {
            "check": "hygiene.short",
            "severity": "warning",
            "message": "short",
            "count": 3,
            "rows": 7,
        },
        {"check": "balance.skew", "severity": "info", "message": "skew", "count": 2, "rows": 0},
    ]
    ft_verdict = {
        "question": "Is the curated set better than the raw set for fine-tuning?",
        "answer": "Yes",
        "outcome": "better",
        "headline": "Yes: better.",
        "lines": ["Equal compute: ..."],
    }
    d = {
        "findings": [raw_error],
        "stats": {
            "pipeline": {"after": {"path": "out/curated.csv", "findings": after}},
            "finetune": {"verdicts": [ft_verdict]},
        },
        "meta": {"command": "run", "input": {"path": "raw.csv"}},
    }
    v = build_view(d)
    assert v["verdict"]["subject"] == "the curated set" and v["verdict"]["shown"]
    assert v["verdict"]["answer"] == "Yes, after review"  # the raw set's error is not counted
    assert v["verdict"]["warnings"] == 3 and v["verdict"]["infos"] == 2
    assert v["verdict"]["items"][0]["rows"] == 7 and v["verdict"]["input_path"] == "out/curated.csv"
    assert v["finetune"]["items"][0]["status"] == "ready"
    raw_only = build_view(d | {"stats": {}})
    assert raw_only["verdict"]["answer"] == "No" and raw_only["finetune"] is None
    ft_page = build_view(d | {"meta": {"command": "finetune"}})
    assert not ft_page["verdict"]["shown"]


def test_a_single_seed_worse_verdict_warns_and_says_why_several_seeds_gate():
    from dataqa.train.shared import comparison_finding

    v = {"headline": "No: curated is worse", "a": "raw", "b": "curated", "outcome": "worse"}
    v |= {"budget": "steps", "single_seed": True}
    one = comparison_finding(v)
    assert one.severity == "warning" and "single seed" in one.message
    many = comparison_finding(v | {"single_seed": False})
    assert many.severity == "error" and "single seed" not in many.message
    better = comparison_finding(v | {"outcome": "better", "single_seed": False})
    assert better.severity == "info"


def test_a_fine_tune_far_below_the_baseline_is_flagged_as_undertrained():
    from dataqa.train.shared import arm_findings

    def arm(mean, base):
        return {
            "seeds": [{"seed": 0, "train": {"verdict": {}}}],
            "summary": {"accuracy_mean": mean},
            "baseline": {"test": {"accuracy": base}},
        }

    far = arm_findings("raw", arm(0.60, 0.93), pretrained=False)
    assert [f.severity for f in far] == ["warning"] and "not learned" in far[0].message
    near = arm_findings("raw", arm(0.88, 0.93), pretrained=False)
    assert [f.severity for f in near] == ["info"] and "not learned" not in near[0].message
    assert arm_findings("raw", arm(0.95, 0.93), pretrained=True) == []
