"""A repair changes exactly the rows the audit flags for it, and clean changes nothing else.

For every `RepairText` kind of the hygiene check (whose flag is "the repair would change
this row"), on the demo plus hard strings: flagged rows == rows the step changes.
Then clean, with each repair switched on alone, edits only the rows flagged for it.
"""

from __future__ import annotations

import pandas as pd
import pytest

from dataqa.checks import Context
from dataqa.checks.hygiene import HygieneCheck
from dataqa.dataset import from_frame
from dataqa.fixes import RepairText
from dataqa.stages.clean import clean
from dataqa.stages.policies import CleanOptions
from dataqa.text.repairs import REPAIRS

HARD = [
    "caf\u00c3\u00a9 au lait was great",  # mojibake
    "a <b>bold</b> claim &amp; more",
    "-lrb- aside -rrb- in the middle",
    "two  spaces and\ttab here",
    " edge space ",
    "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 persian joiner stays",
    "zero\u200bwidth inside a word",
    "write to me at someone@example.com please",
    "e\u0301 decomposed accent",  # not NFC
    "AT&T is a company, not an entity",
    "plain clean text with nothing to fix",
    "3 < 5 and 7 > 2 in maths",
]
STEPS = [k for k in HygieneCheck.kinds if k.fix is RepairText and k.step not in ("correct_typos",)]


@pytest.fixture(scope="module")
def hard_ds(demo):
    train = demo[0]
    extra = pd.DataFrame({"text": HARD, "label": ["positive"] * len(HARD), "brand": "x"})
    return from_frame(pd.concat([train, extra], ignore_index=True), group_col="brand")


@pytest.mark.parametrize("kind", STEPS, ids=lambda k: k.name)
def test_flagged_rows_are_exactly_the_rows_the_repair_changes(hard_ds, kind):
    result = HygieneCheck().run(hard_ds, Context(seed=0))
    flagged = {r for f in result.findings if f.check == kind.name for r in f.row_ids}
    text = hard_ds.text
    blank = text.str.strip() == ""  # whitespace-only rows are quarantined as empty instead
    changed = set(text.index[((REPAIRS[kind.step](text) != text) & ~blank).to_numpy()])
    if kind.step == "repair_surrogates":
        assert flagged == set()  # the demo has none; tests/test_fidelity.py plants some
        return
    assert flagged == changed, (sorted(flagged - changed)[:5], sorted(changed - flagged)[:5])


@pytest.mark.slow
@pytest.mark.parametrize("kind", STEPS, ids=lambda k: k.name)
def test_clean_with_one_repair_edits_only_its_flagged_rows(hard_ds, kind):
    off = {k.name: "keep" for k in STEPS}
    opts = CleanOptions(
        policies={**off, kind.name: "apply"},
        dedupe="none",
        conflicts="keep",
        language="keep",
        leakage="keep",
    )
    result = clean(hard_ds, options=opts)
    flagged = {
        r
        for f in HygieneCheck().run(hard_ds, Context(seed=0)).findings
        if f.check == kind.name
        for r in f.row_ids
    }
    edited = set(result.changes.loc[result.changes["field"] == "text", "dataqa_row_id"])
    assert edited == flagged
    assert set(result.changes["step"]) <= {kind.step, "relabel"}
