"""Notebook fit: `Report.to_frame()` (one row per finding-row pair) and `_repr_html_` of
the report, clean's and augment's results (the verdict and top findings, escaped)."""

from __future__ import annotations

import html
import re

import pandas as pd

from dataqa.findings import Finding, Report
from dataqa.fixes import Dedupe, NoFix, Relabel, RepairText

EVIL = '<script>alert("x")</script>\u202e'


def _report() -> Report:
    return Report(
        findings=[
            Finding(
                "hygiene.whitespace",
                "info",
                "runs of spaces",
                [3, 4, 5],
                fix=RepairText(step="normalize_whitespace"),
            ),
            Finding(
                "duplicates.exact", "warning", "2 rows say the same", [7, 8], fix=Dedupe(keep=7)
            ),
            Finding(
                "labels.label_error",
                "error",
                "label is probably neg",
                [9],
                fix=Relabel(to="neg", confidence=0.93),
            ),
            Finding("balance.thin_class", "warning", "class 'x' has 3 rows", [], fix=NoFix()),
            Finding(f"evil.{EVIL}", "error", EVIL, ["a<b"]),
        ],
        meta={"input": {"path": f"data/{EVIL}.csv"}},
    )


def test_to_frame_has_one_row_per_finding_row_pair():
    report = _report()
    df = report.to_frame()
    assert list(df.columns) == [
        "row_id",
        "check",
        "family",
        "severity",
        "message",
        "fix",
        "fix_args",
        "finding",
    ]
    # 3 + 2 + 1 row pairs, the dataset-level finding once (no row), the hostile one once
    assert len(df) == 3 + 2 + 1 + 1 + 1
    assert df.row_id.tolist() == [3, 4, 5, 7, 8, 9, None, "a<b"]
    assert df.finding.tolist() == [0, 0, 0, 1, 1, 2, 3, 4]
    assert df.family.tolist()[:7] == ["hygiene"] * 3 + ["duplicates"] * 2 + ["labels", "balance"]
    assert df.fix.tolist()[:7] == ["repair_text"] * 3 + ["dedupe"] * 2 + ["relabel", "none"]
    relabel = df[df.fix == "relabel"].iloc[0]
    assert relabel.fix_args == {"to": "neg", "confidence": 0.93, "review": False}
    assert df[df.fix == "dedupe"].fix_args.iloc[0] == {"keep": 7}
    assert df[df.check == "hygiene.whitespace"].fix_args.iloc[0] == {"step": "normalize_whitespace"}
    # severity is ordered: sorting puts errors last, filtering by rank works
    assert df.severity.cat.ordered and list(df.severity.cat.categories) == [
        "info",
        "warning",
        "error",
    ]
    assert set(df[df.severity >= "warning"].row_id.dropna()) == {7, 8, 9, "a<b"}
    assert set(df[df.severity == "error"].row_id) == {9, "a<b"}
    assert len(report.to_frame(dataset_level=False)) == 7


def test_to_frame_joins_back_to_the_rows(demo_ds):
    from dataqa.stages.audit import audit

    report = audit(demo_ds, checks=["hygiene", "duplicates"])
    df = report.to_frame(dataset_level=False)
    assert len(df) == sum(len(f.row_ids) for f in report.findings)
    assert set(df.row_id) == {r for f in report.findings for r in f.row_ids}
    joined = df.merge(demo_ds.frame, left_on="row_id", right_index=True)
    assert len(joined) == len(df)  # every row id names a row of the dataset
    empty = Report().to_frame()
    assert len(empty) == 0 and "row_id" in empty.columns


def test_report_repr_html_shows_the_verdict_and_escapes_everything():
    out = _report()._repr_html_()
    assert "Ready to fine-tune? No." in out
    assert "<script>" not in out and "\u202e" not in out
    assert html.escape('<script>alert("x")</script>⟨U+202E⟩') in out  # shown, not obeyed
    # errors first, then warnings; infos are counted, not listed
    order = [m.group(1) for m in re.finditer(r"<code>([^<]+)</code></td>", out)]
    assert (
        order[0].startswith(("labels.label_error", "evil.")) and "hygiene.whitespace" not in order
    )
    assert order.index("duplicates.exact") > order.index("labels.label_error")
    assert "7 rows flagged by 5 findings" in out  # distinct rows named


def test_verdicts_of_the_notebook_and_the_page_agree():
    from dataqa.report.html import report_dict
    from dataqa.report.view import build_view

    for report in (_report(), Report(findings=[Finding("a.b", "warning", "w", [1])]), Report()):
        page = build_view(report_dict(report))["verdict"]
        mine = report.verdict()
        assert (page["status"], page["headline"]) == (mine["status"], mine["headline"])
        assert [g["check"] for g in page["items"]] == [g["check"] for g in mine["items"]][:12]


def test_finetune_report_repr_shows_the_verdict_and_test_scores():
    # the shape `dataqa.finetune` writes: stats.finetune.verdicts, runs.<arm>.test
    report = Report(
        meta={"command": "finetune"},
        stats={
            "finetune": {
                "verdicts": [
                    {
                        "question": "Is the curated set better than the raw set for fine-tuning?",
                        "answer": "Yes",
                        "outcome": "better",
                        "headline": "Accuracy +4.1 points <95% CI +1.0 to +7.2>.",
                    }
                ],
                "runs": {
                    "raw": {"test": {"accuracy": 0.8123, "macro": {"f1": 0.7}}},
                    "<b>curated</b>": {"test": {"accuracy": 0.85, "macro": {"f1": 0.75}}},
                },
            }
        },
    )
    out = report._repr_html_()
    assert "better than the raw set for fine-tuning? Yes." in out
    assert "&lt;95% CI +1.0 to +7.2&gt;" in out
    assert "Ready to fine-tune?" not in out  # a fine-tune's verdict is about the sets
    assert "accuracy 0.812, macro-F1 0.700" in out and "accuracy 0.850, macro-F1 0.750" in out
    assert "&lt;b&gt;curated&lt;/b&gt;" in out and "<b>curated</b>" not in out
    assert out.index("for fine-tuning? Yes") < out.index("accuracy 0.812")


def test_clean_and_augment_results_show_themselves(demo_ds):
    from dataqa.augmentation.stage import AugmentResult
    from dataqa.stages.clean import clean

    result = clean(demo_ds.subset(demo_ds.frame.index[:300]))
    out = result._repr_html_()
    s = result.summary
    assert f"{s['rows_in']:,} rows in" in out and f"{s['rows_quarantined']:,} quarantined" in out
    for reason in list(s["quarantine_reasons"])[:3]:
        assert html.escape(reason) in out

    stats = {
        "rows_in": 10,
        "rows_out": 14,
        "rows_added": 4,
        "by_method": {"eda": {"generated": 9, "kept": 4, "rejected": {"<copy>": 5}}},
    }
    out = AugmentResult(demo_ds, stats)._repr_html_()
    assert "14 rows (4 added)" in out and "&lt;copy&gt; 5" in out and "<copy>" not in out


def test_the_api_names_are_real():
    import dataqa

    for name in dataqa.__all__:
        if name not in ("finetune", "LabelOptions", "RulesOptions"):  # optional extras
            assert getattr(dataqa, name) is not None
    assert isinstance(dataqa.write_datasetdict, type(lambda: 0))
    assert pd.api.types.is_object_dtype(Report().to_frame().row_id)


def test_conversation_finetune_repr_shows_loss_and_perplexity():
    # the shape dataqa's SFT stage writes: no per-arm test dict, a summary over the seeds
    report = Report(
        meta={"command": "finetune"},
        stats={
            "finetune": {
                "task": "causal_lm",
                "runs": {
                    "raw": {"summary": {"loss_mean": 2.5123, "perplexity_mean": 12.33}},
                    "curated": {"summary": {"loss_mean": 2.0871, "perplexity_mean": 8.06}},
                },
            }
        },
    )
    out = report._repr_html_()
    assert "<b>raw</b>: loss 2.512, perplexity 12.330" in out
    assert "<b>curated</b>: loss 2.087, perplexity 8.060" in out
