"""One contract for every registered check (the scikit-learn estimator-checks idea):
valid row ids, known severities, JSON-able evidence and stats, no mutation, determinism."""

from __future__ import annotations

import copy
import json

import pytest

from dataqa.checks import REGISTRY, Context, check_class, installed
from dataqa.findings import SEVERITIES, to_jsonable

CHECKS = sorted(REGISTRY)


@pytest.mark.parametrize("name", CHECKS)
def test_check_contract(name, demo):
    if not installed(name):
        pytest.skip(f"{name} not installed")
    from dataqa.dataset import from_frame

    train, test, _ = demo
    ds = from_frame(train, group_col="brand")
    against = from_frame(test, text_col="text", label_col="label")
    check = check_class(name)()
    params_before = copy.deepcopy(check.params)
    frame_before = ds.frame.copy()
    first = check.run(ds, Context(against=against, seed=0))
    second = check_class(name)().run(ds, Context(against=against, seed=0))

    assert check.params == params_before, "run() must not change parameters"
    assert ds.frame.equals(frame_before), "checks never mutate the dataset"
    ids = set(ds.ids)
    for f in first.findings:
        assert f.severity in SEVERITIES
        assert f.check == name or f.check.startswith(name + ".") or f.check.split(".")[0] in name
        assert set(f.row_ids) <= ids, f"{f.check} points at rows that do not exist"
        json.dumps(f.to_dict(), allow_nan=False)
    json.dumps(to_jsonable(first.stats), allow_nan=False)
    assert [f.to_dict() for f in first.findings] == [f.to_dict() for f in second.findings]
