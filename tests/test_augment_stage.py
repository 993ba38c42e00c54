"""The augment stage end to end: thin classes grow, rows keep labels, negations and provenance."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import shared_data

from dataqa.augmentation import AugmentOptions, FilterOptions, augment
from dataqa.augmentation.wordnet import DEFAULT_DIR
from dataqa.augmentation.words import negation_counts
from dataqa.cli import cli
from dataqa.dataset import from_frame, load
from dataqa.errors import DataQAError
from dataqa.text import normalize_for_dedup

THIN = "Refund_not_showing_up"
HAS_WORDNET = (DEFAULT_DIR / "data.noun").is_file()
HAS_APERTIUM = shutil.which("apertium") is not None
needs_wordnet = pytest.mark.skipif(not HAS_WORDNET, reason="needs Debian wordnet-base")


@pytest.fixture(scope="module")
def thin_frame() -> pd.DataFrame:
    bank = pd.read_csv(shared_data("banking77", "train.csv")).dropna(subset=["text", "category"])
    big = bank[bank["category"].isin(["card_arrival", "exchange_rate", "pin_blocked"])]
    parts = [big.groupby("category").head(20), bank[bank["category"] == THIN].head(6)]
    return pd.concat(parts).reset_index(drop=True)


@pytest.fixture(scope="module")
def thin_ds(thin_frame):
    return from_frame(thin_frame, text_col="text", label_col="category")


@pytest.fixture(scope="module")
def runs(thin_ds):
    """One augment run per method (balance target: 14 rows for the thin class only)."""
    out = {}
    for method in ("synonym", "eda", "backtranslate"):
        if method == "backtranslate" and not HAS_APERTIUM:
            continue
        if method != "backtranslate" and not HAS_WORDNET:
            continue
        out[method] = augment(thin_ds, method, target="balance", seed=11)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("method", ["synonym", "eda", "backtranslate"])
def test_each_method_grows_only_the_thin_class_with_provenance(runs, thin_ds, method):
    if method not in runs:
        pytest.skip(f"{method} needs {'apertium' if method == 'backtranslate' else 'wordnet'}")
    out, stats = runs[method]
    frame = out.frame
    new = frame[frame["dataqa_method"].notna()]
    # 6 sources: EDA can always vary them; synonyms run out of words to replace, and
    # Apertium gives one paraphrase per source at most
    at_least = {"synonym": 3, "eda": 14, "backtranslate": 1}[method]
    assert at_least <= len(new) == stats["rows_added"] <= 14
    assert stats["by_class"][THIN]["short"] == 14 - len(new)
    assert set(new["category"]) == {THIN}
    assert (new["dataqa_method"] == method).all()
    assert all(str(i).startswith("aug-") for i in new.index) and frame.index.is_unique
    src = new["dataqa_source_id"]
    assert src.isin(thin_ds.frame.index).all()
    assert (thin_ds.frame.loc[src, "category"].to_numpy() == THIN).all()
    params = new["dataqa_params"].map(json.loads)
    assert params.map(lambda p: p["label_prob"] > 0).all()
    assert new["dataqa_seed"].notna().all()
    # nothing is an exact duplicate of anything else
    keys = normalize_for_dedup(out.text)
    assert not keys.duplicated().any()
    # negations are kept: same number of negation cues as the source
    src_text = thin_ds.text.loc[src].reset_index(drop=True)
    assert (negation_counts(new["text"].reset_index(drop=True)) == negation_counts(src_text)).all()
    # original rows untouched, provenance columns empty for them
    orig = frame.loc[thin_ds.frame.index]
    assert orig["dataqa_method"].isna().all()
    assert orig["text"].tolist() == thin_ds.frame["text"].tolist()


def test_charts_and_stats_are_plain_json(runs):
    if not runs:
        pytest.skip("no engine installed")
    _, stats = next(iter(runs.values()))
    json.dumps(stats)
    ids = [c["id"] for c in stats["charts"]]
    assert ids == ["augment-added", "augment-rejected"]
    added = stats["charts"][0]["data"]
    assert added["labels"] == [THIN] and added["values"] == [stats["rows_added"]]


@needs_wordnet
def test_same_seed_same_rows_and_rows_regenerate_from_their_seed(thin_ds, runs):
    from dataqa.augmentation.rng import RowRandom
    from dataqa.augmentation.synonym import synonym_replace
    from dataqa.augmentation.wordnet import load_wordnet

    again, _ = augment(thin_ds, "synonym", target="balance", seed=11)
    first = runs["synonym"][0].frame
    pd.testing.assert_frame_equal(first, again.frame)
    other, _ = augment(thin_ds, "synonym", target="balance", seed=12)
    assert other.frame["text"].tolist() != first["text"].tolist()
    wn = load_wordnet()
    for _, row in first[first["dataqa_method"].notna()].iterrows():
        source = thin_ds.frame.loc[row["dataqa_source_id"], "text"]
        rate = json.loads(row["dataqa_params"])["rate"]
        assert synonym_replace(source, RowRandom(int(row["dataqa_seed"])), wn, rate) == row["text"]


@needs_wordnet
def test_new_ids_never_collide(thin_frame):
    frame = thin_frame.assign(uid=[f"aug-{i}" for i in range(len(thin_frame))])
    ds = from_frame(frame, text_col="text", label_col="category", id_col="uid")
    out, stats = augment(ds, "eda", per_class=8, seed=0)
    new = out.frame[out.frame["dataqa_method"].notna()]
    assert out.frame.index.is_unique and len(new) == stats["rows_added"] == 2
    assert (new["uid"] == new.index).all()
    assert min(int(i.split("-")[1]) for i in new.index) == len(thin_frame)


@needs_wordnet
def test_duplicate_check_reads_provenance_but_still_reports_leakage(thin_frame):
    from dataqa.stages.audit import audit

    # long sentences, so a one-word paraphrase is a MinHash near-duplicate of its source
    frame = thin_frame[thin_frame["text"].str.split().str.len() >= 12].reset_index(drop=True)
    ds = from_frame(frame, text_col="text", label_col="category")
    opts = AugmentOptions(rate=0.05, filter=FilterOptions(enabled=False), check_language=False)
    out, _ = augment(ds, "synonym", factor=3, options=opts, seed=0)
    new_ids = set(out.frame.index[out.frame["dataqa_method"].notna()])

    def near_groups(report):
        return [f for f in report.findings if f.check in ("duplicates.near", "duplicates.exact")]

    blind = from_frame(
        out.frame.drop(columns=["dataqa_source_id"]).reset_index(),
        text_col="text",
        label_col="category",
        id_col="dataqa_row_id",
    )
    assert any(set(f.row_ids) & new_ids for f in near_groups(audit(blind, checks=["duplicates"])))
    report = audit(out, checks=["duplicates"])
    src = out.frame["dataqa_source_id"]
    for f in near_groups(report):  # no group is just a source and its own paraphrases
        roots = {str(src[i]) if pd.notna(src[i]) else str(i) for i in f.row_ids}
        assert len(roots) > 1
    # the sources are the test split now: their paraphrases leak into it
    test = from_frame(frame, text_col="text", label_col="category", source="test.csv")
    leak = audit(out, checks=["duplicates"], against=test)
    leaked = {i for f in leak.findings if f.check == "duplicates.leakage" for i in f.row_ids}
    assert leaked & new_ids


def test_clear_errors(thin_ds, thin_frame, tmp_path, monkeypatch):
    with pytest.raises(DataQAError, match="English"):
        AugmentOptions(language="de")
    with pytest.raises(DataQAError, match="unknown augmentation method"):
        augment(thin_ds, "paraphrase", target="balance")
    german = thin_frame.assign(
        text=["Wann kommt meine neue Karte endlich mit der Post bei mir an?"] * len(thin_frame)
    )
    with pytest.raises(DataQAError, match="not English"):
        augment(from_frame(german, text_col="text", label_col="category"), "eda", target="balance")
    model = tmp_path / "opus-mt-en-de"
    model.mkdir()
    (model / "config.json").write_text("{}")
    opts = AugmentOptions(engine="marian", model=str(model), back_model=str(model))
    with pytest.raises(DataQAError, match="no tokenizer"):
        augment(thin_ds, "backtranslate", target="balance", options=opts)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(DataQAError, match="apertium-eng-spa"):
        augment(thin_ds, "backtranslate", target="balance")


@needs_wordnet
def test_missing_wordnet_is_a_clear_error(thin_ds, tmp_path):
    opts = AugmentOptions(wordnet_dir=str(tmp_path))
    with pytest.raises(DataQAError, match="wordnet-base"):
        augment(thin_ds, "synonym", target="balance", options=opts)


@needs_wordnet
def test_cli_writes_rows_and_summary(thin_frame, tmp_path):
    src = tmp_path / "train.csv"
    thin_frame.to_csv(src, index=False)
    out = tmp_path / "aug.csv"
    res = CliRunner().invoke(
        cli,
        [
            "augment",
            str(src),
            "-o",
            str(out),
            "--method",
            "synonym,eda",
            "--target",
            "balance",
            "--seed",
            "3",
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "aug.augment.json").read_text())
    assert summary["rows_added"] == 14
    assert set(summary["by_method"]) == {"synonym", "eda"}
    back = load(out)
    assert len(back) == len(thin_frame) + 14
    assert back.frame["dataqa_method"].notna().sum() == 14
    only = tmp_path / "new.jsonl"
    res = CliRunner().invoke(
        cli,
        [
            "augment",
            str(src),
            "-o",
            str(only),
            "--method",
            "eda",
            "--per-class",
            "21",
            "--only-new",
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    assert len(load(only)) == 15 + 3
    bad = tmp_path / "test.csv"
    thin_frame.to_csv(bad, index=False)
    res = CliRunner().invoke(cli, ["augment", str(bad), "-o", str(out), "--factor", "2"])
    assert res.exit_code == 2 and "test or validation split" in res.output


def test_augment_help_imports_nothing_heavy():
    code = (
        "import sys; from dataqa.cli import cli\n"
        "try:\n    cli(['augment', '--help'], prog_name='dataqa')\nexcept SystemExit:\n    pass\n"
        "print('LOADED=' + ','.join(m for m in ('nlpaug', 'nltk', 'sklearn', 'torch', "
        "'transformers', 'spacy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Examples:" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "LOADED="


@needs_wordnet
def test_plan_from_a_real_audit_with_groups(thin_frame, tmp_path):
    from dataqa.stages.audit import audit

    # brand "b" holds almost no refunds: the balance check plans rows per (brand, label)
    frame = thin_frame.assign(brand=["a" if i % 3 else "b" for i in range(len(thin_frame))])
    audited = from_frame(frame, text_col="text", label_col="category", group_col="brand")
    report = audit(audited, checks=["balance"])
    path = tmp_path / "audit.json"
    report.save(path)
    plan = report.stats["balance"]["plan"]
    assert plan["per_group"], plan
    # the file to augment names no group column: the plan's is adopted
    ds = from_frame(frame, text_col="text", label_col="category")
    out, stats = augment(ds, "eda", plan=str(path), seed=0)
    assert out.roles.group == "brand" and stats["plan"]["source"] == str(path)
    new = out.frame[out.frame["dataqa_method"].notna()]
    want = {(g, lab): n for g, cells in plan["per_group"].items() for lab, n in cells.items()}
    got = new.groupby(["brand", "category"]).size().to_dict()
    assert got == {k: v for k, v in want.items() if v}  # per-group cells, not per_class again
    assert len(new) == plan["total_to_add"] == sum(plan["per_class"].values())
