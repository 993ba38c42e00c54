"""One contract for every registered check (scikit-learn's `parametrize_with_checks` idea).

Every check, run on the embedded demo (planted faults with ground truth):
- emits only finding kinds it declares, each carrying a fix of the declared type;
- validates its options when constructed (unknown option, wrong type, out of range);
- never mutates the dataset or its own parameters, and gives the same findings twice;
- has JSON-able findings and stats;
- finds the planted rows (recall) and flags little else (precision), judged against
  the ground truth or, where the demo's templated text makes real extra cases (natural
  duplicates, natural test overlap), against an independent oracle.
"""

from __future__ import annotations

import copy
import json
import re
import typing

import pytest
from rapidfuzz import fuzz

from dataqa.checks import REGISTRY, Context, check_class, installed
from dataqa.errors import DataQAError
from dataqa.findings import to_jsonable
from dataqa.fixes import SEVERITIES, Fix, allowed_policies

CHECKS = sorted(REGISTRY)
pytestmark = pytest.mark.slow  # the demo run of every check costs ~40 s


@pytest.fixture(scope="module")
def demo_run(demo):
    """Each installed check run twice on the demo: {name: (first, second, ds, against)}."""
    from dataqa.dataset import from_frame

    train, test, _ = demo
    ds = from_frame(train, group_col="brand")
    against = from_frame(test, text_col="text", label_col="label")
    out = {}
    for name in CHECKS:
        if not installed(name):
            continue
        check = check_class(name)()
        params = copy.deepcopy(check.params)
        frame = ds.frame.copy()
        first = check.run(ds, Context(against=against, seed=0))
        second = check_class(name)().run(ds, Context(against=against, seed=0))
        assert check.params == params, f"{name}: run() must not change parameters"
        assert ds.frame.equals(frame), f"{name}: checks never mutate the dataset"
        out[name] = (first, second, ds, against)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", CHECKS)
def test_emits_declared_kinds_with_valid_fixes(name, demo_run):
    if name not in demo_run:
        pytest.skip(f"{name} not installed")
    cls = check_class(name)
    assert cls.kinds, f"{name} declares no finding kinds"
    first, second, ds, _ = demo_run[name]
    ids = set(ds.ids)
    for f in first.findings:
        kind = cls.kind(f.check)  # KeyError: an undeclared kind
        assert f.check.split(".")[0] == name
        assert f.severity in SEVERITIES
        assert isinstance(f.fix, kind.fix), f"{f.check}: {type(f.fix).__name__} != {kind.fix}"
        assert isinstance(f.fix, Fix)
        if kind.step is not None:
            assert f.fix.step == kind.step
        assert set(f.row_ids) <= ids, f"{f.check} points at rows that do not exist"
        assert bool(f.row_ids) <= kind.rows, f"{f.check}: a dataset-level kind with rows"
        json.dumps(f.to_dict(), allow_nan=False)
    json.dumps(to_jsonable(first.stats), allow_nan=False)
    assert [f.to_dict() for f in first.findings] == [f.to_dict() for f in second.findings]


@pytest.mark.parametrize("name", CHECKS)
def test_kinds_are_well_formed(name):
    if not installed(name):
        pytest.skip(f"{name} not installed")
    cls = check_class(name)
    names = [k.name for k in cls.kinds]
    assert len(names) == len(set(names))
    for k in cls.kinds:
        assert k.name.startswith(name + ".")
        assert k.policy in allowed_policies(k)
        assert k.summary


@pytest.mark.parametrize("name", CHECKS)
def test_options_are_validated_at_construction(name):
    if not installed(name):
        pytest.skip(f"{name} not installed")
    cls = check_class(name)
    with pytest.raises(DataQAError, match="no option"):
        cls(no_such_option=1)
    numeric = [
        (n, f)
        for n, f in cls.Options.model_fields.items()
        if f.annotation in (int, float) or typing.get_args(f.annotation)[:1] in ((int,), (float,))
    ]
    for opt, _ in numeric[:3]:
        with pytest.raises(DataQAError, match=re.escape(f"{name}.{opt}")):
            cls(**{opt: "not a number"})
    assert cls().params == cls.defaults()


# ---- precision and recall on the planted faults ------------------------------------------

HYGIENE_TRUTH = {
    "hygiene.mojibake": ["mojibake"],
    "hygiene.pii": ["pii"],
    "hygiene.markup": ["markup"],
    "hygiene.control_chars": ["control_chars"],
    "hygiene.missing_label": ["missing_label"],
    "hygiene.language": ["foreign_language"],
    ("hygiene.empty", "hygiene.missing_text"): ["empty_text"],
}


def flagged(result, *kinds) -> set:
    return {r for f in result.findings if f.check in kinds for r in f.row_ids}


def score(found: set, planted: set) -> tuple[float, float]:
    tp = len(found & planted)
    return tp / max(len(planted), 1), tp / max(len(found), 1)


@pytest.mark.parametrize("kinds, problems", list(HYGIENE_TRUTH.items()), ids=str)
def test_hygiene_finds_planted_rows_and_little_else(demo_run, demo, kinds, problems):
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    planted = {r for p in problems for r in demo[2][p]}
    recall, precision = score(flagged(demo_run["hygiene"][0], *kinds), planted)
    assert recall >= 0.95 and precision >= 0.95, (kinds, recall, precision)


def _oracle_key(text) -> str:
    """An independent duplicate oracle: casefold, clause punctuation out, space collapsed."""
    text = "" if text != text or text is None else str(text)
    return " ".join(re.sub(r"[.,!?;:]", " ", text.casefold()).split())


def test_duplicates_recall_and_oracle_precision(demo_run, demo):
    train, test, truth = demo
    result, _, ds, against = demo_run["duplicates"]
    exact = [f for f in result.findings if f.check == "duplicates.exact"]
    recall, _ = score({r for f in exact for r in f.row_ids}, set(truth["exact_duplicates"]))
    assert recall >= 0.95
    texts = ds.frame["text"]
    good = [len({_oracle_key(texts[r]) for r in f.row_ids}) == 1 for f in exact]
    assert sum(good) / len(good) >= 0.95, "exact groups must be equal under the oracle"

    conflicts = [f for f in result.findings if f.check == "duplicates.conflict"]
    recall, _ = score(
        {r for f in conflicts for r in f.row_ids}, set(truth["near_duplicate_conflicts"])
    )
    assert recall >= 0.9
    labels = ds.labels

    def is_conflict(f) -> bool:
        rows = f.row_ids
        similar = all(
            fuzz.ratio(_oracle_key(texts[rows[0]]), _oracle_key(texts[r])) >= 75 for r in rows[1:]
        )
        return similar and labels.loc[rows].nunique() > 1

    assert sum(map(is_conflict, conflicts)) / len(conflicts) >= 0.9

    leak = flagged(result, "duplicates.leakage")
    recall, _ = score(leak, set(truth["leaked_into_test"]))
    assert recall >= 0.95
    test_keys = [_oracle_key(t) for t in against.frame["text"]]
    real = [
        max(fuzz.ratio(_oracle_key(texts[r]), k) for k in test_keys) >= 85 for r in sorted(leak)
    ]
    assert sum(real) / len(real) >= 0.95, "leakage rows must really be in the test split"


def test_labels_recall_and_precision(demo_run, demo):
    if "labels" not in demo_run:
        pytest.skip("labels not installed")
    recall, precision = score(
        flagged(demo_run["labels"][0], "labels.issue"), set(demo[2]["label_flips"])
    )
    assert recall >= 0.8 and precision >= 0.75, (recall, precision)


def test_bias_confound_recall_and_precision(demo_run, demo):
    if "bias" not in demo_run:
        pytest.skip("bias not installed")
    recall, precision = score(
        flagged(demo_run["bias"][0], "bias.confound"), set(demo[2]["brand_typos"])
    )
    assert recall >= 0.85 and precision >= 0.95, (recall, precision)


def test_balance_names_the_planted_thin_class(demo_run, demo):
    thin = [f for f in demo_run["balance"][0].findings if f.check == "balance.thin_class"]
    planted = set(demo[2]["thin_class"])
    named = {f.evidence.get("label", f.evidence.get("class")) for f in thin}
    assert planted <= named and len(named - planted) <= 1, (named, planted)
