"""Each hygiene sub-check finds its planted rows and leaves clean rows alone."""

from __future__ import annotations

import pandas as pd
import pytest

from dataqa.stages.audit import audit
from dataqa.text import find_pii, luhn_ok

CLEAN = [
    "The kettle boils quickly and looks nice on the counter.",
    "I returned the blender because the lid cracked.",
    "Customer service answered my question within a day.",
    "The headphones are comfortable for long flights.",
    "Battery life is shorter than the box claims.",
    "It works well enough for the price I paid.",
] * 5

PLANTED = {
    "mojibake": "The cafÃ© sold a kettle thatâ€™s great.",
    "control_chars": "Nice\u200b lamp with a \u202ebidi override.",
    "markup": "<p>Great toaster &amp; fast delivery</p>",
    "tokenizer_artifacts": "the film -lrb- a sequel -rrb- is dull",
    "boilerplate": "Works fine. Sent from my iPhone",
    "repeated_chars": "Sooooooo good!!!!! love it",
    "empty": "   ",
    "too_short": "ok",
}
PII = {
    "email": "Write to jane.doe@example.org about the order.",
    "phone": "Call me on +44 20 7946 0958 tomorrow please.",
    "credit_card": "My card 4111 1111 1111 1111 was charged twice.",
    "ip": "The router at 192.168.10.254 keeps dropping.",
    "url": "See https://example.com/review for photos.",
}


@pytest.fixture(scope="module")
def result():
    rows = CLEAN + list(PLANTED.values()) + list(PII.values()) + [None]
    df = pd.DataFrame(
        {"text": rows, "label": ["a", "b"] * (len(rows) // 2) + ["a"] * (len(rows) % 2)}
    )
    report = audit(df, checks=["hygiene"])
    return df, report


def rows_of(report, check, **evidence):
    hits = [
        f
        for f in report.findings
        if f.check == check and all(f.evidence.get(k) == v for k, v in evidence.items())
    ]
    return {r for f in hits for r in f.row_ids}


@pytest.mark.parametrize("check", list(PLANTED))
def test_planted_row_found_and_nothing_else(result, check):
    df, report = result
    planted = df.index[df["text"] == PLANTED[check]].tolist()
    assert rows_of(report, f"hygiene.{check}") == set(planted)


@pytest.mark.parametrize("kind", list(PII))
def test_each_pii_kind_found_exactly(result, kind):
    df, report = result
    planted = df.index[df["text"] == PII[kind]].tolist()
    assert rows_of(report, "hygiene.pii", kind=kind) == set(planted)


def test_missing_text_is_an_error(result):
    df, report = result
    assert rows_of(report, "hygiene.missing_text") == {len(df) - 1}
    assert all(f.severity == "error" for f in report.findings if f.check == "hygiene.missing_text")


def test_luhn_separates_real_card_numbers_from_digit_runs():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    hits = find_pii(pd.Series(["order 1234 5678 9012 3456 shipped", "card 5500 0000 0000 0004"]))
    assert list(hits["credit_card"].index) == [1]


def test_language_flags_foreign_rows_on_demo(demo):
    train, _, truth = demo
    report = audit(train, checks=["hygiene"])
    assert rows_of(report, "hygiene.language") == set(truth["foreign_language"])
    assert report.stats["hygiene"]["language"]["main"] == "en"


def test_label_variants_found():
    df = pd.DataFrame(
        {
            "text": [f"row number {i} is here" for i in range(6)],
            "label": ["positive", "positive", "Positive ", "negative", "negative", "positive"],
        }
    )
    report = audit(df, checks=["hygiene"])
    f = [f for f in report.findings if f.check == "hygiene.label_variants"]
    assert len(f) == 1 and f[0].row_ids == [2] and f[0].fix.to == "positive"


def test_typo_rate_ranks_typo_rows_high(demo):
    from dataqa.text import typo_rate

    train, _, _ = demo
    rates = typo_rate(train["text"].fillna("").astype(str))["typo_rate"]
    typo_brand = train["brand"] == "Dunmore"
    assert rates[typo_brand].mean() > 3 * rates[~typo_brand].mean()


@pytest.mark.slow
def test_banking77_real_faults_reported_with_row_numbers(banking77_train):
    report = audit(banking77_train, checks=["hygiene"])
    assert rows_of(report, "hygiene.missing_text") == {1291, 4478}
    assert rows_of(report, "hygiene.missing_label") == {1290, 4477, 7604}
    # a clean English intent set: almost nothing is flagged as foreign or mojibake
    assert len(rows_of(report, "hygiene.language")) < 20
    assert not rows_of(report, "hygiene.mojibake")


def test_sst2_tokenizer_artifacts_real(sst2_dev):
    report = audit(sst2_dev, checks=["hygiene"], text_col="content")
    rows = rows_of(report, "hygiene.tokenizer_artifacts")
    expected = set(sst2_dev.index[sst2_dev["content"].str.contains("-lrb-|-rrb-", regex=True)])
    assert rows == expected and rows


def test_labels_that_are_lists_or_of_the_rare_type_are_flagged(tmp_path):
    import json

    rows = [{"text": f"how do I top up card number {i}", "label": "top_up"} for i in range(8)]
    rows += [{"text": f"my card {i} has not arrived", "label": "card_arrival"} for i in range(8)]
    rows[3]["label"] = 1  # a number among names
    rows[10]["label"] = "2.5"  # a number as text among names
    rows[5]["label"] = ["top_up", "card_arrival"]  # multi-label
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = audit(path, checks=["hygiene"])  # a path works like a frame
    by = {f.check: set(f.row_ids) for f in report.findings}
    assert by.get("hygiene.label_not_scalar") == {5}
    assert by.get("hygiene.mixed_label_types") == {3, 10}
    # numeric class ids alone are one type: nothing to say
    ids = pd.DataFrame({"text": [r["text"] for r in rows], "label": [0, 1] * 8})
    report = audit(ids, checks=["hygiene"])
    assert not [f for f in report.findings if "label" in f.check and "missing" not in f.check]
