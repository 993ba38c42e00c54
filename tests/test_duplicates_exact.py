"""Exact duplicates after normalisation, label conflicts and exact leakage."""

from __future__ import annotations

import pandas as pd

from dataqa.dataset import from_frame
from dataqa.stages.audit import audit


def test_normalised_exact_duplicates_and_conflicts():
    df = pd.DataFrame(
        {
            "text": [
                "The kettle is great!",
                "the KETTLE is great",
                "The  kettle is great.",
                "Nothing alike here",
                "Another sentence entirely",
                "another sentence, entirely",
            ],
            "label": ["pos", "pos", "neg", "neg", "pos", "pos"],
        }
    )
    report = audit(df, checks=["duplicates"], options={"duplicates": {"near": False}})
    exact = sorted(f.row_ids for f in report.findings if f.check == "duplicates.exact")
    assert exact == [[0, 1, 2], [4, 5]]
    conflict = [f for f in report.findings if f.check == "duplicates.conflict"]
    assert len(conflict) == 1 and conflict[0].row_ids == [0, 1, 2]
    assert conflict[0].evidence["majority"] == "pos"
    assert report.stats["duplicates"]["exact_redundant_rows"] == 3


def test_exact_leakage_against_test_split():
    train = from_frame(pd.DataFrame({"text": ["a b c", "d e f", "g h i"], "label": [1, 2, 3]}))
    test = from_frame(pd.DataFrame({"text": ["x y z", "D E F!"], "label": [1, 2]}))
    report = audit(
        train, checks=["duplicates"], against=test, options={"duplicates": {"near": False}}
    )
    leak = [f for f in report.findings if f.check == "duplicates.leakage"]
    assert [f.row_ids for f in leak] == [[1]] and leak[0].evidence["against_ids"] == [1]


def test_demo_planted_exact_duplicates_found(demo):
    train, _, truth = demo
    report = audit(train, checks=["duplicates"])
    groups = [f.row_ids for f in report.findings if f.check == "duplicates.exact"]
    flagged = {r for g in groups for r in g}
    assert set(truth["exact_duplicates"]) <= flagged
    # every planted copy sits in a small group with its source, not in one giant group
    assert max(map(len, groups)) <= 5 and len(flagged) <= 3 * len(truth["exact_duplicates"])
    texts = (
        train["text"]
        .str.casefold()
        .str.replace(r"[^\w\s]", "", regex=True)
        .str.split()
        .str.join(" ")
    )
    assert all(texts.loc[g].nunique() == 1 for g in groups)


def test_banking77_real_conflict(banking77_train):
    report = audit(banking77_train, checks=["duplicates"], options={"duplicates": {"near": False}})
    conflicts = [f for f in report.findings if f.check == "duplicates.conflict"]
    assert any(set(f.row_ids) == {2003, 3161} for f in conflicts)
