"""The Dask engine against the local one: same findings, nothing lost, clear failures.

One 2-worker LocalCluster (threads, for speed: the tasks, P2P shuffles and merges are the
same code paths as with worker processes) serves most tests; the worker-kill test starts
its own cluster of processes.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")  # the [scale] extra; `make setup` installs it

import dataqa  # noqa: E402
from dataqa.demo import make_demo  # noqa: E402
from dataqa.engine import EngineOptions  # noqa: E402
from dataqa.engine.dask_engine import audit_dask, clean_dask, dask_client  # noqa: E402
from dataqa.errors import DataQAError  # noqa: E402
from dataqa.io.shards import find_shards  # noqa: E402

CHECKS = ["hygiene", "duplicates", "balance"]


@pytest.fixture(scope="module")
def client():
    with dask_client(EngineOptions(engine="dask", workers=2), processes=False) as c:
        yield c


def write_shards(frame: pd.DataFrame, folder: Path, n: int, fmt: str = "parquet") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, part in enumerate(np.array_split(np.arange(len(frame)), n)):
        piece = frame.iloc[part]
        if fmt == "parquet":
            piece.to_parquet(folder / f"part-{i}.parquet", index=False)
        else:
            piece.to_json(folder / f"part-{i}.jsonl", orient="records", lines=True)
    return folder


def kinds_and_rows(report) -> set:
    return {(f.check, tuple(sorted(map(str, f.row_ids)))) for f in report.findings}


def planted() -> tuple[pd.DataFrame, dict]:
    """Reviews with known faults at known positions (ids `part-K.jsonl:ROW` once sharded)."""
    rng = np.random.default_rng(3)
    words = [
        "good",
        "bad",
        "film",
        "plot",
        "actor",
        "scene",
        "music",
        "story",
        "slow",
        "funny",
        "dull",
        "great",
        "long",
    ]
    text = [
        " ".join(rng.choice(words, size=12)) + f" number {i} " + " ".join(rng.choice(words, 6))
        for i in range(600)
    ]
    label = ["pos" if i % 3 else "neg" for i in range(600)]
    truth = {"exact": [], "near": [], "empty": [], "markup": []}
    for k in range(20):  # exact copies (case and punctuation folded) far apart
        a, b = 10 + k, 300 + k
        text[b] = text[a].upper() + "!"
        label[b] = label[a]
        truth["exact"].append((a, b))
    for k in range(20):  # one-character edits
        a, b = 60 + k, 400 + k
        text[b] = text[a][:-3] + "x" + text[a][-2:]
        label[b] = label[a]
        truth["near"].append((a, b))
    for k in (100, 450):
        text[k] = "   "
        truth["empty"].append(k)
    for k in (120, 520):
        text[k] = "<b>" + text[k] + "</b>"
        truth["markup"].append(k)
    label[5] = "Pos "  # a spelling variant
    return pd.DataFrame({"text": text, "label": label}), truth


def test_dask_findings_equal_the_local_engine_on_the_demo(client, tmp_path):
    train, _, _ = make_demo(800, 7)
    folder = write_shards(train, tmp_path / "demo", 4)
    local = dataqa.audit(dataqa.load(str(folder)), checks=CHECKS)
    remote = audit_dask(find_shards(str(folder)), client, checks=CHECKS)
    assert kinds_and_rows(remote) == kinds_and_rows(local)
    kinds = {f.check.split(".")[0] for f in remote.findings}
    assert kinds == {"hygiene", "duplicates", "balance"}
    assert {"duplicates.exact", "duplicates.near", "duplicates.conflict"} <= {
        f.check for f in remote.findings
    }
    # by default the checks Dask does not run yet are listed as not run, not dropped silently
    default = audit_dask(find_shards(str(folder)), client)
    assert {"size", "bias"} <= set(default.meta["skipped"])
    assert "labels" not in default.meta["skipped"] and "labels" in default.stats
    assert "hygiene" not in default.meta["skipped"]


def test_dask_finds_planted_faults_in_jsonl_shards(client, tmp_path):
    frame, truth = planted()
    folder = write_shards(frame, tmp_path / "planted", 3, fmt="jsonl")
    shards = find_shards(str(folder / "*.jsonl"))
    remote = audit_dask(shards, client, checks=CHECKS)
    local = dataqa.audit(dataqa.load(str(folder / "*.jsonl")), checks=CHECKS)
    assert kinds_and_rows(remote) == kinds_and_rows(local)

    bounds = np.cumsum([0] + [len(p) for p in np.array_split(np.arange(len(frame)), 3)])

    def rid(i: int) -> str:
        k = int(np.searchsorted(bounds, i, side="right") - 1)
        return f"part-{k}.jsonl:{i - bounds[k]}"

    def pairs(kind):
        return {frozenset(f.row_ids) for f in remote.findings if f.check == f"duplicates.{kind}"}

    for kind in ("exact", "near"):
        want = {frozenset((rid(a), rid(b))) for a, b in truth[kind]}
        found = pairs(kind)
        recall = len(want & found) / len(want)
        precision = len(want & found) / max(len(found), 1)
        assert recall == 1.0 and precision == 1.0, (kind, recall, precision)
    by_kind = {f.check: set(f.row_ids) for f in remote.findings}
    assert by_kind["hygiene.empty"] == {rid(i) for i in truth["empty"]}
    assert by_kind["hygiene.markup"] == {rid(i) for i in truth["markup"]}
    assert by_kind["hygiene.label_variants"] == {rid(5)}


def skewed() -> pd.DataFrame:
    """The planted reviews plus 1,500 notices sharing one boilerplate sentence (each with
    its own customer name): their LSH band buckets hold 1,500 rows each."""
    frame, _ = planted()
    rng = np.random.default_rng(5)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    notices = [
        f"dear {''.join(rng.choice(letters, 6))} your parcel has left our warehouse and will "
        "arrive within three to five working days thank you for shopping with us"
        for _ in range(1500)
    ]
    extra = pd.DataFrame({"text": notices, "label": rng.choice(["pos", "neg"], len(notices))})
    return pd.concat([frame, extra], ignore_index=True).sample(frac=1, random_state=0)


def test_skewed_buckets_are_salted_and_findings_stay_those_of_local(client, tmp_path, monkeypatch):
    import dataqa.engine.dask_engine as eng

    folder = write_shards(skewed(), tmp_path / "skew", 3)
    local = dataqa.audit(dataqa.load(str(folder)), checks=["duplicates"])
    biggest = max(len(f.row_ids) for f in local.findings if f.check == "duplicates.near")
    assert biggest > 1000  # the notices are one near-duplicate group
    salt_rows = 64
    monkeypatch.setattr(eng, "SALT_ROWS", salt_rows)
    remote = audit_dask(find_shards(str(folder)), client, checks=["duplicates"])
    assert kinds_and_rows(remote) == kinds_and_rows(local)
    # no shuffled bucket holds more than ~2 x SALT_ROWS rows from each of the 3 pieces
    # (unsalted, each notice bucket would hold ~1,500)
    stats = remote.stats["duplicates"]
    assert stats["salted_buckets"] > 0
    assert stats["largest_bucket_rows"] <= 2 * salt_rows * 3 + 3


def test_dask_clean_loses_nothing_and_matches_local(client, tmp_path):
    train, _, _ = make_demo(800, 7)
    folder = write_shards(train, tmp_path / "in", 4)
    outs = (tmp_path / "cur", tmp_path / "cur.quarantine", tmp_path / "cur.changes")
    summary = clean_dask(find_shards(str(folder)), client, outs)
    kept = pd.read_parquet(outs[0])
    quarantine = pd.read_parquet(outs[1])
    ids_in = set(dataqa.load(str(folder)).ids)
    k, q = set(kept["dataqa_row_id"]), set(quarantine["dataqa_row_id"])
    assert not k & q and k | q == ids_in and len(kept) + len(quarantine) == len(ids_in)
    assert summary["rows_in"] == len(ids_in) and quarantine["dataqa_reasons"].str.len().min() > 0
    local = dataqa.clean(dataqa.load(str(folder)))
    assert set(local.quarantine.index) == q
    kept_local = local.kept.frame
    text = kept.set_index("dataqa_row_id")["text"]
    assert text.reindex(kept_local.index).tolist() == kept_local["text"].tolist()
    log = pd.read_parquet(outs[2])
    assert len(log) >= 1 and not set(log["dataqa_row_id"]) & q  # quarantined rows: no edits
    local_log = set(zip(local.changes["dataqa_row_id"], local.changes["step"], strict=True))
    assert set(zip(log["dataqa_row_id"], log["step"], strict=True)) == local_log


def test_interrupted_clean_writes_nothing(client, tmp_path, monkeypatch):
    import dataqa.engine.dask_engine as eng

    train, _, _ = make_demo(400, 7)
    folder = write_shards(train, tmp_path / "in", 3)
    real = eng._piece_write

    def dies_on_the_last(i, *args):
        if i == 2:
            raise RuntimeError("worker lost mid-write")
        return real(i, *args)

    monkeypatch.setattr(eng, "_piece_write", dies_on_the_last)
    outs = (tmp_path / "cur", tmp_path / "cur.quarantine", tmp_path / "cur.changes")
    with pytest.raises(RuntimeError):
        clean_dask(find_shards(str(folder)), client, outs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]  # no output, no staging


def test_a_killed_worker_is_retried(tmp_path):
    frame, _ = planted()
    big = pd.concat([frame] * 8, ignore_index=True)  # enough work to kill a worker during
    folder = write_shards(big, tmp_path / "k", 8)
    shards = find_shards(str(folder))
    local = dataqa.audit(dataqa.load(str(folder)), checks=["duplicates"])
    with dask_client(EngineOptions(engine="dask", workers=2)) as c:
        pids = list(c.run(os.getpid).values())
        result: dict = {}

        def run():
            try:
                result["report"] = audit_dask(shards, c, checks=["duplicates"])
            except Exception as err:  # noqa: BLE001 - reported below
                result["error"] = err

        t = threading.Thread(target=run)
        t.start()
        deadline = time.time() + 20
        while time.time() < deadline and not any(c.processing().values()):
            time.sleep(0.05)
        os.kill(pids[0], signal.SIGKILL)
        t.join(120)
    assert "error" not in result, result.get("error")
    assert kinds_and_rows(result["report"]) == kinds_and_rows(local)


def test_killed_worker_error_is_one_paragraph():
    from distributed import KilledWorker

    from dataqa.engine.dask_engine import _job

    with pytest.raises(DataQAError, match="nothing was written"), _job("the audit"):
        raise KilledWorker("read-piece-3", "tcp://w:1", 3)


def test_bad_inputs_exit_2_and_write_nothing(tmp_path):
    from click.testing import CliRunner

    from dataqa.cli import cli

    with pytest.raises(DataQAError, match="no Parquet or JSONL shards match"):
        find_shards(str(tmp_path / "none-*.parquet"))
    a = tmp_path / "mixed"
    a.mkdir()
    pd.DataFrame({"text": ["a b"], "label": ["x"]}).to_parquet(a / "p0.parquet")
    pd.DataFrame({"text": ["a b"], "label": [1]}).to_parquet(a / "p1.parquet")
    with pytest.raises(DataQAError, match="different schemas: p1.parquet"):
        find_shards(str(a))
    with pytest.raises(DataQAError, match="cannot reach the Dask scheduler"):
        opts = EngineOptions(engine="dask", scheduler="tcp://127.0.0.1:9", connect_timeout=1)
        with dask_client(opts):
            pass
    out = tmp_path / "r.json"
    runner = CliRunner()
    for args in (
        ["audit", str(tmp_path / "none-*.parquet"), "--engine", "dask", "--json", str(out)],
        ["audit", str(a), "--engine", "dask", "--json", str(out)],
        ["audit", str(a), "--scheduler", "tcp://127.0.0.1:9", "--json", str(out)],
        ["clean", str(a), "-o", str(tmp_path / "c"), "--engine", "dask", "--dedupe", "longest"],
    ):
        res = runner.invoke(cli, args)
        assert res.exit_code == 2, (args, res.output)
        assert "Traceback" not in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mixed"]


def test_run_with_engine_dask_in_the_pipeline_file(tmp_path):
    import yaml
    from click.testing import CliRunner

    from dataqa.cli import cli

    train, _, _ = make_demo(300, 7)
    write_shards(train, tmp_path / "shards", 2)
    spec = {
        "name": "sharded",
        "engine": {"engine": "dask", "workers": 1},
        "data": {"train": "shards"},
        "stages": {"audit": {"checks": ["duplicates"]}, "clean": True},
    }
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(spec))
    res = CliRunner().invoke(cli, ["run", str(tmp_path / "p.yaml"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    kept = pd.read_parquet(tmp_path / "o" / "curated")
    quarantine = pd.read_parquet(tmp_path / "o" / "curated.quarantine")
    assert len(kept) + len(quarantine) == len(train)
    spec["engine"] = "spark"
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(spec))
    res = CliRunner().invoke(cli, ["run", str(tmp_path / "p.yaml")])
    assert res.exit_code == 2 and "engine" in res.output
