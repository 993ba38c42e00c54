"""Bias check: finds planted group skew, surface cues, shortcut tokens and the
brand x typos x label confound (on the demo and on real data), and stays quiet on the
unmodified real datasets and on random groups."""

from __future__ import annotations

import importlib.util
import random

import numpy as np
import pandas as pd
import pytest
from conftest import shared_data

from dataqa.checks.base import Context
from dataqa.checks.bias import BiasCheck, capitalised_entities
from dataqa.dataset import from_frame
from dataqa.errors import DataQAError

BRANDS = ["Acme", "Borealis", "Cobalt", "Dunmore", "Everly"]


def run(ds, **params):
    return BiasCheck(**params).run(ds, Context(seed=0))


def by_check(result, name):
    return [f for f in result.findings if f.check == name]


def typos(text: str, rng: random.Random, rate: float = 0.3) -> str:
    words = text.split(" ")
    for i, w in enumerate(words):
        if len(w) > 3 and w.isalpha() and rng.random() < rate:
            j = rng.randrange(1, len(w) - 1)
            words[i] = w[: j - 1] + w[j] + w[j - 1] + w[j + 1 :]
    return " ".join(words)


@pytest.fixture(scope="module")
def demo_result(demo_ds):
    return run(demo_ds)


@pytest.fixture(scope="module")
def sst2_sample() -> pd.DataFrame:
    df = pd.read_csv(shared_data("sst2", "train.tsv"), sep="\t", quoting=3)
    df = df[df["sentence"].str.split().str.len() >= 4]  # sentences, not one-word fragments
    return df.sample(4000, random_state=0).reset_index(drop=True)


def test_demo_brand_confound_is_found_with_its_rows(demo, demo_ds, demo_result):
    _, _, truth = demo
    skew = by_check(demo_result, "bias.group_skew")
    assert [(f.evidence["group"], f.evidence["label"]) for f in skew] == [("Dunmore", "negative")]
    confound = by_check(demo_result, "bias.confound")
    assert confound, "the brand x typos x label confound must be reported"
    top = confound[0]
    assert (top.evidence["group"], top.evidence["cue"], top.evidence["label"]) == (
        "Dunmore",
        "typo_rate",
        "negative",
    )
    assert top.severity == "error"
    assert top.evidence["cue_mean_in_group"] > 3 * top.evidence["cue_mean_elsewhere"]
    # the cue's link to the label runs through the brand: near chance within brands
    assert top.evidence["cue_label_auc"] > 0.55
    assert top.evidence["cue_label_auc_within_groups"] < 0.56
    assert top.fix.details["labels"]["positive"] > 0
    assert "correct_typos" in top.fix.details["alternatives"]
    dunmore = set(demo_ds.ids[(demo_ds.groups == "Dunmore").to_numpy()])
    assert set(top.row_ids) <= dunmore
    planted = set(truth["brand_typos"])
    found = {r for f in demo_result.findings for r in f.row_ids}
    assert len(planted & found) / len(planted) >= 0.9
    assert len(found - planted) <= 0.05 * len(found)


def test_demo_stats_and_charts(demo_result):
    stats = demo_result.stats
    assert stats["groups"]["skewed_groups"] == ["Dunmore"]
    assert stats["surface_cues"]["typo_rate"]["best_class"] == "negative"
    kinds = {c["id"]: c["type"] for c in stats["charts"]}
    assert kinds == {"bias-surface-cues": "bar", "bias-group-label": "heatmap"}
    heat = next(c for c in stats["charts"] if c["type"] == "heatmap")["data"]
    assert len(heat["values"]) == len(heat["rows"]) and len(heat["values"][0]) == len(heat["cols"])


@pytest.mark.slow
def test_planted_exclamation_cue_in_sst2(sst2_sample):
    df = sst2_sample.copy()
    rng = np.random.default_rng(0)
    pos = df.index[df["label"] == 1]
    planted = rng.choice(pos, int(0.8 * len(pos)), replace=False)
    df.loc[planted, "sentence"] = df.loc[planted, "sentence"] + " !!!"
    result = run(from_frame(df, text_col="sentence", label_col="label"))
    cue = [f for f in by_check(result, "bias.surface_cue") if f.evidence["cue"] == "exclamation"]
    assert cue and cue[0].severity == "error"
    assert cue[0].evidence["strength"] > 0.85
    assert cue[0].evidence["rule"]["label"] == "1"
    assert len(set(planted) & set(cue[0].row_ids)) / len(planted) >= 0.95


def test_unmodified_sst2_with_random_groups_is_quiet(sst2_sample):
    df = sst2_sample.copy()
    df["brand"] = np.random.default_rng(1).choice(BRANDS, len(df))
    result = run(from_frame(df, text_col="sentence", label_col="label", group_col="brand"))
    assert [f for f in result.findings if f.severity == "error"] == []
    assert by_check(result, "bias.surface_cue") == []
    assert by_check(result, "bias.group_skew") == []
    assert by_check(result, "bias.confound") == []


@pytest.mark.slow
def test_brand_typo_confound_planted_in_sst2(sst2_sample):
    """The real case on real sentences: one brand's reviews are more often negative and
    full of typos."""
    df = sst2_sample.copy()
    rng = np.random.default_rng(2)
    p_d = np.where(df["label"] == 0, 0.4, 0.1)
    is_d = rng.random(len(df)) < p_d
    others = [b for b in BRANDS if b != "Dunmore"]
    df["brand"] = np.where(is_d, "Dunmore", rng.choice(others, len(df)))
    trng = random.Random(2)
    df.loc[is_d, "sentence"] = df.loc[is_d, "sentence"].map(lambda t: typos(t, trng))
    result = run(from_frame(df, text_col="sentence", label_col="label", group_col="brand"))
    confound = by_check(result, "bias.confound")
    assert confound and confound[0].evidence["group"] == "Dunmore"
    assert confound[0].evidence["cue"] == "typo_rate" and confound[0].evidence["label"] == "0"
    d_rows = set(df.index[is_d])
    assert set(confound[0].row_ids) <= d_rows
    assert len(confound[0].row_ids) >= 0.7 * len(d_rows)


@pytest.fixture(scope="module")
def banking(banking77_train) -> pd.DataFrame:
    return banking77_train.dropna().reset_index(drop=True)


def plant_token(df: pd.DataFrame, seed: int = 0, share: float = 0.6):
    rng = np.random.default_rng(seed)
    victim = sorted(df["category"].unique())[rng.integers(df["category"].nunique())]
    rows = df.index[df["category"] == victim]
    planted = rng.choice(rows, int(share * len(rows)), replace=False)
    out = df.copy()
    out.loc[planted, "text"] = out.loc[planted, "text"] + " I use the Zyntra app."
    return out, victim, set(planted)


@pytest.mark.slow
def test_planted_brand_token_in_banking77(banking):
    df, victim, planted = plant_token(banking)
    result = run(from_frame(df, text_col="text", label_col="category"))
    tokens = {f.evidence["token"]: f for f in by_check(result, "bias.shortcut_token")}
    assert "Zyntra" in tokens
    assert tokens["Zyntra"].evidence["label"] == victim
    assert set(tokens["Zyntra"].row_ids) == planted
    assert result.stats["entities"]["mode"] == "heuristic"


@pytest.mark.slow
def test_unmodified_banking77_with_random_groups_is_quiet(banking):
    df = banking.copy()
    df["brand"] = np.random.default_rng(1).choice(BRANDS, len(df))
    result = run(from_frame(df, text_col="text", label_col="category", group_col="brand"))
    assert [f for f in result.findings if f.severity == "error"] == []
    assert by_check(result, "bias.group_skew") == []
    assert by_check(result, "bias.confound") == []
    assert by_check(result, "bias.surface_cue") == []
    # tokens the label itself names (Apple Pay, Visa) are the task, not shortcuts
    assert {"Apple", "Visa"} <= set(result.stats["shortcut_tokens"]["named_by_label"])


@pytest.mark.slow
def test_cue_planted_in_one_class_of_many(banking):
    """A URL in most rows of one intent out of 77: weak on average, caught by its rule."""
    df = banking.copy()
    rng = np.random.default_rng(4)
    rows = df.index[df["category"] == "card_arrival"]
    planted = rng.choice(rows, int(0.7 * len(rows)), replace=False)
    df.loc[planted, "text"] = df.loc[planted, "text"] + " see https://help.example.com/cards"
    result = run(from_frame(df, text_col="text", label_col="category"), entities="none")
    url = [f for f in by_check(result, "bias.surface_cue") if f.evidence["cue"] == "url"]
    assert url and url[0].evidence["rule"]["label"] == "card_arrival"
    assert set(url[0].row_ids) == set(planted)


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("spacy") is None, reason="spaCy not installed")
def test_spacy_entity_path_with_a_local_pipeline(tmp_path, banking):
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "ORG", "pattern": "Zyntra"}])
    nlp.to_disk(tmp_path / "ner")
    df, victim, planted = plant_token(
        banking.sample(3000, random_state=0).reset_index(drop=True), seed=1, share=0.9
    )
    result = run(
        from_frame(df, text_col="text", label_col="category"),
        entities="spacy",
        spacy_model=str(tmp_path / "ner"),
    )
    assert result.stats["entities"]["mode"] == "spacy"
    tokens = {f.evidence["token"]: f for f in by_check(result, "bias.shortcut_token")}
    assert set(tokens) == {"Zyntra"}
    assert set(tokens["Zyntra"].row_ids) == planted


def test_spacy_mode_without_a_model_is_a_clear_error(demo_ds):
    if any(importlib.util.find_spec(m) for m in ("en_core_web_sm", "en_core_web_md")):
        pytest.skip("a spaCy model is installed here")
    with pytest.raises(DataQAError, match="needs a spaCy model"):
        run(demo_ds, entities="spacy")


def test_capitalisation_heuristic():
    text = pd.Series(
        [
            "Great kettle from Dunmore, really.",
            "The Dunmore lid broke.",
            "I think Dunmore is fine. Great value.",
            "Dunmore again.",
            "Great stuff.",
        ]
    )
    pairs = capitalised_entities(text)
    assert set(pairs["entity"]) == {"Dunmore"}  # "Great"/"The"/"I" start sentences
    assert set(pairs["row"]) == {0, 1, 2, 3}  # counted at a sentence start too


def test_bad_options_are_clear_errors(demo_ds):
    with pytest.raises(DataQAError, match="correction"):
        run(demo_ds, correction="bonferroni")
    with pytest.raises(DataQAError, match="permutations"):
        run(demo_ds, permutations=5)
    with pytest.raises(DataQAError, match="no option"):
        BiasCheck(threshold=1)
