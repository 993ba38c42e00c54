"""Augmentation units: offline WordNet, synonym replacement, EDA, the filter, the plan."""

from __future__ import annotations

import json
from collections import Counter

import pandas as pd
import pytest
from conftest import shared_data

from dataqa.augmentation.eda import EdaRates, random_deletion, random_insertion, random_swap
from dataqa.augmentation.filter import FilterOptions, filter_candidates, fit_label_model
from dataqa.augmentation.plan import make_plan, read_plan, refuse_test_split, source_rows
from dataqa.augmentation.rng import RowRandom
from dataqa.augmentation.synonym import synonym_batch, synonym_replace
from dataqa.augmentation.wordnet import DEFAULT_DIR, NATIVE_FILES, load_wordnet, nltk_data_dir
from dataqa.augmentation.words import negation_counts
from dataqa.dataset import from_frame
from dataqa.errors import DataQAError


@pytest.fixture(scope="module")
def wn():
    if not (DEFAULT_DIR / "data.noun").is_file():
        pytest.skip("WordNet not installed (Debian package wordnet-base)")
    return load_wordnet()


@pytest.fixture(scope="module")
def bank() -> pd.DataFrame:
    df = pd.read_csv(shared_data("banking77", "train.csv")).dropna(subset=["text", "category"])
    return df.reset_index(drop=True)


# ---- WordNet ------------------------------------------------------------------------------


def test_synonyms_keep_part_of_speech_and_inflection(wn):
    assert "films" in wn.synonyms("movies")  # plural noun -> plural synonyms
    assert "film" in wn.synonyms("movie") and "movie" not in wn.synonyms("movie")
    # "a charge" is a noun, "to charge" a verb: the hint picks the reading
    assert wn.tag("charge", "n")[1] == "n" and wn.tag("charge", "v")[1] == "v"
    for syn in wn.synonyms("tries"):  # 3rd person verb -> 3rd person synonyms
        assert syn.split()[0].endswith("s"), syn


@pytest.mark.parametrize("word", ["not", "never", "the", "good", "bad", "love", "hate", "great"])
def test_protected_words_have_no_synonyms(wn, word):
    assert wn.synonyms(word) == ()


def test_missing_wordnet_names_the_debian_package(tmp_path):
    with pytest.raises(DataQAError, match="wordnet-base"):
        load_wordnet(tmp_path)
    with pytest.raises(DataQAError, match="wordnet-base"):
        nltk_data_dir(tmp_path / "nowhere")


def test_nltk_setup_needs_the_sense_index(tmp_path, wn):
    for name in NATIVE_FILES:  # everything but index.sense
        (tmp_path / name).symlink_to(DEFAULT_DIR / name)
    with pytest.raises(DataQAError, match="wordnet-sense-index"):
        nltk_data_dir(tmp_path)


# ---- synonym replacement ----------------------------------------------------------------


SENTENCE = "The director does n't seem to care , and the movie is not good but the actors are great"


def test_synonym_replacement_leaves_negations_polarity_and_function_words(wn):
    outs = {synonym_replace(SENTENCE, RowRandom(s), wn, rate=0.3) for s in range(60)}
    assert len(outs) > 5 and SENTENCE not in outs
    src = Counter(SENTENCE.split())
    for out in outs:
        toks = Counter(out.split())
        for w in ("n't", "not", "good", "great", "the", "The", "and", "but", "are", "is"):
            assert toks[w] == src[w], (w, out)


def test_synonym_replacement_is_deterministic_per_seed(wn):
    texts = ["My card payment was declined at the store", "How do I order a spare card?"] * 3
    seeds = [1, 1, 2, 2, 3, 3]
    a = synonym_batch(texts, seeds)
    assert a == synonym_batch(texts, seeds)
    assert len(set(a)) > 2


def test_names_and_phrasal_verbs_are_kept(wn):
    text = "Can I top up with Apple Pay from my account"
    for s in range(30):
        out = synonym_replace(text, RowRandom(s), wn, rate=0.5)
        assert "top up" in out and "Apple Pay" in out


# ---- EDA -------------------------------------------------------------------------------------


def test_eda_swap_moves_words_but_not_negations():
    text = "i did not get the cash i asked for at the machine"
    for s in range(40):
        out = random_swap(text, RowRandom(s), 0.2)
        assert sorted(out.split()) == sorted(text.split())
        assert out.split().index("not") == text.split().index("not")
    assert any(random_swap(text, RowRandom(s), 0.2) != text for s in range(5))


def test_eda_deletion_never_drops_negations_or_polarity():
    text = "the refund is not showing and the service was bad today"
    for s in range(40):
        out = random_deletion(text, RowRandom(s), 0.5)
        assert len(out.split()) < len(text.split())
        assert "not" in out.split() and "bad" in out.split()


def test_eda_insertion_adds_synonyms(wn):
    text = "my transfer to the bank account failed yesterday"
    out = random_insertion(text, RowRandom(3), wn, 0.2)
    words, added = text.lower().split(), out.lower().split()
    assert len(added) > len(words)
    new = [w for w in added if w not in words]
    assert new, "an insertion must add a synonym, not a copy of a word already there"
    from dataqa.augmentation.eda import TOKEN_RE, replaceable

    offered = {
        p for _, syns in replaceable(TOKEN_RE.findall(text), wn)[0] for s in syns for p in s.split()
    }
    assert set(new) <= offered


def test_eda_rates_are_checked():
    with pytest.raises(DataQAError):
        EdaRates(synonym=1.5)
    with pytest.raises(DataQAError):
        EdaRates(0, 0, 0, 0)


# ---- the filter ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_classes(bank):
    pick = bank[bank["category"].isin(["card_arrival", "exchange_rate"])]
    return pick.groupby("category").head(40)


@pytest.fixture(scope="module")
def clf(two_classes):
    return fit_label_model(two_classes["text"], two_classes["category"])


def test_filter_rejects_planted_bad_candidates(clf):
    from dataqa.text import normalize_for_dedup

    src = "My card still has not arrived, when will it come?"
    post = "When will my new card arrive in the post?"
    planted = [  # (candidate, source, expected reason)
        (src, src, "unchanged"),
        ("my card STILL has not arrived, when will it come ?", src, "unchanged"),
        ("My card still has not arrived, when will it come!?", src, "unchanged"),
        ("I am still waiting on my card?", src, "duplicate"),  # already in the dataset
        ("My card still has arrived, when will it come?", src, "negation_changed"),
        ("My card still has none arrived, when will it come?", post, "too_different"),
        ("The weather in Paris is lovely this spring.", src, "too_different"),
        ("What exchange rate will my new card use abroad?", post, "label_changed"),
        ("My card still has not shown up, when will it come?", src, ""),
    ]
    seen = set(normalize_for_dedup(pd.Series(["I am still waiting on my card?"])))
    verdict = filter_candidates(
        [c for c, _, _ in planted],
        [s for _, s, _ in planted],
        ["card_arrival"] * len(planted),
        seen_keys=seen,
        clf=clf,
    )
    assert verdict["reason"].tolist() == [r for _, _, r in planted]
    assert verdict["label_prob"].iloc[-1] > 0.5


def test_filter_threshold_and_off_switch(clf):
    cand = ["When does my new card get here?", "When will my card be delivered to me?"]
    src = ["When will my card arrive?"] * 2
    strict = filter_candidates(
        cand,
        src,
        ["card_arrival"] * 2,
        seen_keys=set(),
        clf=clf,
        options=FilterOptions(threshold=0.999),
    )
    assert set(strict["reason"]) == {"label_changed"}
    off = filter_candidates(
        ["my card has arrived", "When will my card arrive?"],
        src,
        ["card_arrival"] * 2,
        seen_keys=set(),
        clf=clf,
        options=FilterOptions(enabled=False),
    )
    assert off["reason"].tolist() == ["", "unchanged"]  # copies are never kept
    with pytest.raises(DataQAError):
        FilterOptions(threshold=1.5)


def test_negation_counts_treat_contractions_and_words_alike():
    counts = negation_counts(
        pd.Series(["I don't know", "I do not know", "no way", "nothing", "know"])
    )
    assert counts.tolist() == [1, 1, 1, 1, 0]


# ---- the plan ------------------------------------------------------------------------------


@pytest.fixture()
def thin_ds(bank):
    big = bank[bank["category"].isin(["card_arrival", "exchange_rate", "pin_blocked"])]
    frame = pd.concat(
        [
            big.groupby("category").head(20),
            bank[bank["category"] == "Refund_not_showing_up"].head(5),
        ]
    ).reset_index(drop=True)
    return from_frame(frame, text_col="text", label_col="category")


def test_balance_targets_thin_classes_only(thin_ds):
    plan = make_plan(thin_ds, source_rows(thin_ds), target="balance")
    assert plan.per_class() == {"Refund_not_showing_up": 15}
    plan = make_plan(thin_ds, source_rows(thin_ds), per_class=22)
    assert plan.per_class() == {
        "Refund_not_showing_up": 17,
        "card_arrival": 2,
        "exchange_rate": 2,
        "pin_blocked": 2,
    }
    plan = make_plan(thin_ds, source_rows(thin_ds), factor=1.5)
    assert plan.per_class()["card_arrival"] == 10


def test_plan_caps_rows_per_source(thin_ds):
    plan = make_plan(thin_ds, source_rows(thin_ds), per_class=100, max_per_source=4)
    assert plan.per_class()["Refund_not_showing_up"] == 20
    assert plan.capped["Refund_not_showing_up"] == 75


def test_plan_from_audit_report_and_plan_file(thin_ds, tmp_path):
    report = {"stats": {"balance": {"plan": {"target": 20, "per_class": {"pin_blocked": 3}}}}}
    (tmp_path / "report.json").write_text(json.dumps(report))
    (tmp_path / "plan.json").write_text(json.dumps({"per_class": {"exchange_rate": 4}}))
    p = make_plan(thin_ds, source_rows(thin_ds), plan=tmp_path / "report.json")
    assert p.per_class() == {"pin_blocked": 3} and p.target == 20
    p = make_plan(thin_ds, source_rows(thin_ds), plan=str(tmp_path / "plan.json"))
    assert p.per_class() == {"exchange_rate": 4}
    (tmp_path / "bad.json").write_text(json.dumps({"per_class": {"no_such_class": 3}}))
    with pytest.raises(DataQAError, match="no_such_class"):
        make_plan(thin_ds, source_rows(thin_ds), plan=tmp_path / "bad.json")
    (tmp_path / "noplan.json").write_text(json.dumps({"stats": {"duplicates": {}}}))
    with pytest.raises(DataQAError, match="balance plan"):
        read_plan(tmp_path / "noplan.json")


def test_plan_per_group_fills_the_thinnest_labels(thin_ds):
    frame = thin_ds.frame.copy()
    frame["brand"] = ["a" if i % 2 else "b" for i in range(len(frame))]
    ds = from_frame(frame, text_col="text", label_col="category", group_col="brand")
    plan = make_plan(ds, source_rows(ds), plan={"per_group": {"a": 4}})
    cells = {(c.label, c.group): c.rows for c in plan.cells}
    assert sum(cells.values()) == 4 and all(g == "a" for _, g in cells)
    assert cells.get(("Refund_not_showing_up", "a"), 0) >= 2  # the thinnest label first


def test_one_way_of_asking_and_no_test_split(thin_ds, tmp_path):
    with pytest.raises(DataQAError, match="exactly one way"):
        make_plan(thin_ds, source_rows(thin_ds), target="balance", factor=2)
    with pytest.raises(DataQAError, match="exactly one way"):
        make_plan(thin_ds, source_rows(thin_ds))
    test_file = from_frame(
        thin_ds.frame, text_col="text", label_col="category", source="x/test.csv"
    )
    with pytest.raises(DataQAError, match="test or validation split"):
        refuse_test_split(test_file)
    refuse_test_split(from_frame(thin_ds.frame, text_col="text", source="x/contest_train.csv"))
    frame = thin_ds.frame.copy()
    frame["split"] = ["test" if i % 2 else "train" for i in range(len(frame))]
    ds = from_frame(frame, text_col="text", label_col="category")
    assert set(ds.frame.loc[source_rows(ds), "split"]) == {"train"}


def test_empty_text_is_a_clear_error(thin_ds):
    frame = thin_ds.frame.copy()
    frame.loc[frame["category"] == "Refund_not_showing_up", "text"] = ""
    ds = from_frame(frame, text_col="text", label_col="category")
    with pytest.raises(DataQAError, match="no non-empty training row"):
        make_plan(ds, source_rows(ds), target="balance")
    blank = from_frame(frame.assign(text=" "), text_col="text", label_col="category")
    with pytest.raises(DataQAError, match="every text is empty"):
        source_rows(blank)
