"""Label errors on Dask against the local check: planted flips found as well, the same rows
flagged within a stated tolerance, and results that do not depend on the sharding.

Tolerance (why not equality): the Dask executor assigns folds by a hash of each row's
normalised text (so copies share a fold and the result does not depend on partitions),
the local check by stratified K-fold; the fold models differ, so the scores near the
cut differ. Measured on the demo (3,000 rows, 5% flips), both with `featurizer=hashing`:
Jaccard 0.90, precision 0.90 vs 0.90, recall 0.87 vs 0.96 (BENCHMARKS.md, issue 17).
Asserted: Jaccard of the flagged row ids >= JACCARD, precision within WITHIN_P and recall
within WITHIN_R of the local engine's. With the duplicates check too, near-duplicate
clusters also share a fold; on the templated demo that costs recall (0.79: a flipped
row's correctly labelled near-copies no longer vouch for the right label; those rows are
reported as `duplicates.conflict` instead), so that run is held to precision only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")  # the [scale] extra
pytest.importorskip("cleanlab")  # the [labels] extra

import dataqa  # noqa: E402
from dataqa.demo import make_demo  # noqa: E402
from dataqa.engine import EngineOptions  # noqa: E402
from dataqa.engine.dask_engine import audit_dask, dask_client  # noqa: E402
from dataqa.errors import DataQAError  # noqa: E402
from dataqa.io.shards import find_shards  # noqa: E402

JACCARD = 0.8
WITHIN_P = 0.05
WITHIN_R = 0.15
HASHING = {"labels": {"featurizer": "hashing", "outliers": False, "near_duplicates": False}}
SST2 = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "sst2" / "train.tsv"


@pytest.fixture(scope="module")
def client():
    with dask_client(EngineOptions(engine="dask", workers=2), processes=False) as c:
        yield c


def write_shards(frame: pd.DataFrame, folder: Path, n: int, fmt: str = "parquet") -> list[str]:
    """Write `frame` as `n` shards; return the row id of every row of `frame`, in order."""
    folder.mkdir(parents=True, exist_ok=True)
    ids: list[str] = []
    for i, part in enumerate(np.array_split(np.arange(len(frame)), n)):
        piece = frame.iloc[part]
        name = f"part-{i}.{fmt}"
        if fmt == "parquet":
            piece.to_parquet(folder / name, index=False)
        else:
            piece.to_json(folder / name, orient="records", lines=True)
        ids += [f"{name}:{r}" for r in range(len(piece))]
    return ids


def flagged(report) -> set[str]:
    return {r for f in report.findings if f.check == "labels.issue" for r in f.row_ids}


def precision_recall(found: set, truth: set) -> tuple[float, float]:
    hit = len(found & truth)
    return hit / max(len(found), 1), hit / max(len(truth), 1)


def compare(client, frame: pd.DataFrame, flips: np.ndarray, folder: Path, checks: list[str]):
    ids = write_shards(frame, folder, 4)
    truth = {ids[i] for i in flips}
    local = dataqa.audit(
        dataqa.load(str(folder), text_col="text", label_col="label"),
        checks=["labels"],
        options=HASHING,
    )
    remote = audit_dask(
        find_shards(str(folder)),
        client,
        checks=checks,
        options=HASHING,
        text_col="text",
        label_col="label",
    )
    a, b = flagged(local), flagged(remote)
    jaccard = len(a & b) / max(len(a | b), 1)
    return local, remote, truth, jaccard


def test_labels_on_dask_find_the_planted_flips_as_the_local_engine_does(client, tmp_path):
    train, _, truth = make_demo(3000, 7)
    frame = train[["text", "label"]]
    flips = np.asarray(truth["label_flips"])
    local, remote, want, jaccard = compare(client, frame, flips, tmp_path / "demo", ["labels"])
    p_l, r_l = precision_recall(flagged(local), want)
    p_d, r_d = precision_recall(flagged(remote), want)
    assert jaccard >= JACCARD, (jaccard, len(flagged(local)), len(flagged(remote)))
    assert abs(p_d - p_l) <= WITHIN_P and abs(r_d - r_l) <= WITHIN_R, (p_l, r_l, p_d, r_d)
    assert p_d >= 0.8 and r_d >= 0.7, (p_d, r_d)  # it finds flips, not noise
    # the same report shape as the local check: suspects with a suggested label, the noise
    # rate, a score for every row
    kinds = {f.check for f in remote.findings if f.check.startswith("labels.")}
    assert {"labels.issue", "labels.noise_rate"} <= kinds
    issue = next(f for f in remote.findings if f.check == "labels.issue")
    assert issue.evidence["suggested_label"] != issue.evidence["given_label"]
    table = remote.tables["labels"]
    assert len(table) == len(frame)
    assert set(table.index[table["is_label_issue"]]) == flagged(remote)
    assert remote.stats["labels"]["engine"] == "dask" and "labels" not in remote.meta["skipped"]
    # with near-duplicate clusters in one fold: as precise, fewer found (see the docstring)
    both = audit_dask(
        find_shards(str(tmp_path / "demo")),
        client,
        checks=["duplicates", "labels"],
        options=HASHING,
        text_col="text",
        label_col="label",
    )
    p_n, r_n = precision_recall(flagged(both), want)
    assert p_n >= p_l - WITHIN_P and r_n >= 0.6, (p_l, p_n, r_n)


def test_labels_on_dask_do_not_depend_on_the_sharding(client, tmp_path):
    train, _, _ = make_demo(1500, 11)
    frame = train[["text", "label"]].reset_index(drop=True)
    results = []
    for n, fmt in ((4, "parquet"), (3, "jsonl"), (1, "parquet")):
        folder = tmp_path / f"s{n}{fmt}"
        ids = write_shards(frame, folder, n, fmt)
        report = audit_dask(
            find_shards(str(folder)), client, checks=["labels"], text_col="text", label_col="label"
        )
        row = {rid: i for i, rid in enumerate(ids)}
        table = report.tables["labels"]
        results.append(
            (
                sorted(row[r] for r in flagged(report)),
                table["label_quality"].to_numpy()[np.argsort([row[r] for r in table.index])],
            )
        )
    assert len(results[0][0]) > 10
    for rows, quality in results[1:]:
        assert rows == results[0][0]
        np.testing.assert_allclose(quality, results[0][1], rtol=1e-5)


def test_copies_and_near_copies_share_a_fold(client, tmp_path):
    """A flipped row whose copy carries the same wrong label is not scored by a model
    trained on that copy: every member of an exact or near-duplicate cluster gets one fold."""
    from dataqa.engine.dask_engine import Plan, _piece_dataset
    from dataqa.engine.dask_labels import _assign, _prepare

    train, _, _ = make_demo(600, 5)
    frame = train[["text", "label"]].dropna().reset_index(drop=True)
    base = frame["text"].iloc[:40].tolist()
    extra = pd.DataFrame(
        {
            "text": [t.upper() for t in base[:20]] + [t[:-2] + "xx" for t in base[20:]],
            "label": frame["label"].iloc[:40].tolist(),
        }
    )
    frame = pd.concat([frame, extra], ignore_index=True)
    ids = write_shards(frame, tmp_path / "d", 3)
    near = {ids[20 + i]: i for i in range(20)} | {ids[len(frame) - 20 + i]: i for i in range(20)}
    shards = find_shards(str(tmp_path / "d"))
    from dataqa.dataset import Roles

    plan = Plan(Roles(text="text", label="label"), ["labels"], {}, 0)
    classes = sorted(frame["label"].dropna().unique())
    states = [_prepare(p, _piece_dataset, plan, classes, near) for p in shards.pieces()]
    near_key = np.zeros(20, np.uint64)
    for s in states:
        m = s["cluster"] >= 0
        for c, h in zip(s["cluster"][m], s["h"][m], strict=True):
            near_key[c] = h if near_key[c] == 0 else min(near_key[c], h)
    rates = np.ones(len(classes))
    folds = np.concatenate([_assign(s, near_key, 5, 0, rates)["fold"] for s in states])
    assert len(folds) == len(frame)
    for i in range(20):  # exact copies (case folded) and near copies: the original's fold
        assert folds[len(frame) - 40 + i] == folds[i]
        assert folds[len(frame) - 20 + i] == folds[20 + i]
    assert len(set(folds.tolist())) == 5  # and the folds are used


def test_unsupported_label_options_on_dask_exit_2(client, tmp_path):
    from click.testing import CliRunner

    from dataqa.cli import cli

    train, _, _ = make_demo(200, 7)
    write_shards(train, tmp_path / "in", 2)
    with pytest.raises(DataQAError, match="featurizer=tfidf is not available"):
        audit_dask(
            find_shards(str(tmp_path / "in")),
            client,
            checks=["labels"],
            options={"labels": {"featurizer": "tfidf"}},
        )
    out = tmp_path / "r.json"
    res = CliRunner().invoke(
        cli,
        ["audit", str(tmp_path / "in"), "--engine", "dask", "--workers", "1"]
        + ["-s", "labels.featurizer=encoder", "--json", str(out)],
    )
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    assert not out.exists()


@pytest.mark.slow
@pytest.mark.slow
@pytest.mark.skipif(not SST2.exists(), reason="../shared/data/sst2 is not here")
def test_labels_on_dask_on_sst2_with_planted_flips(client, tmp_path):
    frame = pd.read_csv(SST2, sep="\t").rename(columns={"sentence": "text"})
    frame = frame.sample(8000, random_state=0).reset_index(drop=True)
    rng = np.random.default_rng(0)
    flips = np.flatnonzero(rng.random(len(frame)) < 0.1)
    frame.loc[flips, "label"] = 1 - frame.loc[flips, "label"]
    frame["label"] = frame["label"].map({0: "negative", 1: "positive"})
    local, remote, want, jaccard = compare(
        client, frame, flips, tmp_path / "sst2", ["duplicates", "labels"]
    )
    p_l, r_l = precision_recall(flagged(local), want)
    p_d, r_d = precision_recall(flagged(remote), want)
    # the hashing pool is weak on short sentences (precision ~0.6, recall ~0.35 with both
    # engines), so which borderline rows are flagged moves with the folds (hash of the
    # text vs stratified): measured Jaccard 0.53 at equal quality (P 0.61 / 0.58, R 0.33 /
    # 0.34). The tolerance is on quality; the overlap bound only says it is the same check.
    assert jaccard >= 0.45, jaccard
    assert abs(p_d - p_l) <= WITHIN_P and abs(r_d - r_l) <= WITHIN_R, (p_l, r_l, p_d, r_d)
    assert p_d >= 0.5 and r_d >= 0.25, (p_d, r_d)  # it finds flips, not noise
