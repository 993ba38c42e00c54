"""Balance check: finds planted thin classes and imbalance, stays quiet on balanced data,
and writes a rebalancing plan the augmentation stage can act on."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dataqa.checks.balance import BalanceCheck, extract_plan, rebalancing_plan
from dataqa.checks.base import Context
from dataqa.dataset import from_frame
from dataqa.errors import DataQAError


def run(ds, **params):
    return BalanceCheck(**params).run(ds, Context(seed=0))


def test_demo_thin_class_and_plan(demo, demo_ds):
    _, _, truth = demo
    result = run(demo_ds)
    thin = [f for f in result.findings if f.check == "balance.thin_class"]
    assert [f.evidence["label"] for f in thin] == truth["thin_class"]
    neutral_rows = set(demo_ds.labels[demo_ds.labels == "neutral"].index)
    assert set(thin[0].row_ids) == neutral_rows
    plan = result.stats["plan"]
    assert plan["group_column"] == "brand" and plan["label_column"] == "label"
    assert plan["per_class"]["neutral"] > 0
    assert plan["total_to_add"] == sum(plan["per_class"].values())
    # the plan is per group too, and the per-class figures are the sums of the cells
    summed: dict[str, int] = {}
    for cells in plan["per_group"].values():
        for label, n in cells.items():
            summed[label] = summed.get(label, 0) + n
    assert {k: v for k, v in plan["per_class"].items() if v} == summed
    # the brand with planted negatives is told to grow its positives: the bias fix
    assert plan["per_group"]["Dunmore"]["positive"] > 0
    json.dumps(plan, allow_nan=False)


def test_balanced_banking77_sample_is_quiet(banking77_train):
    df = banking77_train.dropna()
    big = df["category"].value_counts()
    df = df[df["category"].isin(big[big >= 60].index)]  # 74 of the 77 intents
    sample = df.groupby("category", group_keys=False).sample(60, random_state=0)
    result = run(from_frame(sample, text_col="text", label_col="category"))
    assert result.findings == []
    assert result.stats["imbalance_ratio"] == 1.0
    assert result.stats["normalised_entropy"] == pytest.approx(1.0)
    assert result.stats["plan"]["total_to_add"] == 0


def test_sst2_dev_is_quiet(sst2_dev):
    result = run(from_frame(sst2_dev, text_col="content", label_col="label"))
    assert result.findings == []
    assert result.stats["classes"] == 2


def test_planted_thin_class_in_banking77(banking77_train):
    df = banking77_train.dropna()
    rng = np.random.default_rng(3)
    victim = sorted(df["category"].unique())[rng.integers(77)]
    keep = df[df["category"] != victim]
    cut = df[df["category"] == victim].sample(8, random_state=3)
    data = pd.concat([keep, cut]).sort_index()
    ds = from_frame(data, text_col="text", label_col="category")
    result = run(ds)
    thin = {f.evidence["label"]: f for f in result.findings if f.check == "balance.thin_class"}
    assert thin[victim].severity == "error"  # fewer than critical_per_class rows
    assert set(thin[victim].row_ids) == set(ds.ids[(ds.labels == victim).to_numpy()])
    imbalance = [f for f in result.findings if f.check == "balance.imbalance"]
    assert imbalance and imbalance[0].severity == "warning"
    assert imbalance[0].evidence["imbalance_ratio"] >= 10


def test_plan_targets_and_cap():
    labels = pd.Series(["a"] * 100 + ["b"] * 40 + ["c"] * 10)
    plan = rebalancing_plan(labels, target="max", max_factor=5.0)
    assert plan["target"] == 100
    assert plan["per_class"] == {"a": 0, "b": 60, "c": 40}  # c capped at 5x its 10 rows
    assert plan["shortfall"] == {"c": 50}
    median = rebalancing_plan(labels, target="median")
    assert median["target"] == 40 and median["per_class"]["c"] == 30
    fixed = rebalancing_plan(labels, target=120)
    assert fixed["per_class"]["a"] == 20
    with pytest.raises(DataQAError):
        rebalancing_plan(labels, target="most")


def test_group_plan_balances_labels_within_groups():
    labels = pd.Series(["neg"] * 80 + ["pos"] * 20 + ["neg"] * 40 + ["pos"] * 60)
    groups = pd.Series(["X"] * 100 + ["Y"] * 100)
    plan = rebalancing_plan(labels, groups, max_factor=10.0)
    after = pd.crosstab(groups, labels)
    for g, cells in plan["per_group"].items():
        for label, n in cells.items():
            after.loc[g, label] += n
    # every group ends with as many rows of each label: the group no longer predicts it
    assert (after.nunique(axis=1) == 1).all()
    assert after.sum(axis=0).min() >= plan["target"]


def test_extract_plan_from_report_dict_and_path(tmp_path, demo_ds):
    from dataqa.stages.audit import audit

    report = audit(demo_ds, checks=["balance"])
    plan = extract_plan(report)
    assert plan == report.stats["balance"]["plan"]
    path = tmp_path / "audit.json"
    report.save(path)
    assert extract_plan(path) == json.loads(json.dumps(plan))
    assert extract_plan(report.to_dict())["target"] == plan["target"]
    with pytest.raises(DataQAError, match="no rebalancing plan"):
        extract_plan({"stats": {}})
    with pytest.raises(DataQAError, match="no such report"):
        extract_plan(tmp_path / "missing.json")


def test_single_class_is_an_error():
    ds = from_frame(pd.DataFrame({"text": ["a b", "c d", "e f"], "label": ["x", "x", "x"]}))
    result = run(ds)
    assert [f.check for f in result.findings] == ["balance.single_class"]
    assert result.findings[0].severity == "error"


def test_charts_follow_the_convention(demo_ds):
    charts = run(demo_ds).stats["charts"]
    bar = charts[0]
    assert bar["type"] == "bar" and len(bar["data"]["labels"]) == len(bar["data"]["values"])
    assert bar["data"]["values"] == sorted(bar["data"]["values"], reverse=True)
