"""Every kind of bad input gets one clear paragraph and exit code 2, never a traceback."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from dataqa.cli import cli


def run(*args):
    result = CliRunner().invoke(cli, list(args))
    text = result.output + (result.stderr if hasattr(result, "stderr") else "")
    return result, text


def assert_clear_error(result, text, *must_contain):
    assert result.exit_code == 2, text
    assert "Traceback" not in text
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "dataqa: error:" in text
    for piece in must_contain:
        assert piece in text, f"{piece!r} not in {text!r}"


def write(path, data: bytes):
    path.write_bytes(data)
    return str(path)


def test_missing_file(tmp_path):
    res, text = run("audit", str(tmp_path / "nope.csv"))
    assert_clear_error(res, text, "nope.csv", "no such file")


def test_hub_like_name_hints_at_hub_prefix():
    res, text = run("audit", "someone/some-dataset")
    assert_clear_error(res, text, "hub:someone/some-dataset")


def test_empty_file(tmp_path):
    res, text = run("audit", write(tmp_path / "e.csv", b""))
    assert_clear_error(res, text, "e.csv", "empty")


def test_header_only(tmp_path):
    res, text = run("audit", write(tmp_path / "h.csv", b"text,label\n"))
    assert_clear_error(res, text, "h.csv", "no data rows")


@pytest.mark.slow
def test_latin1_file_names_line_and_encoding_flag(tmp_path):
    data = b"text,label\ngood,1\n" + "café crème,0\n".encode("latin-1")
    res, text = run("audit", write(tmp_path / "l.csv", data))
    assert_clear_error(res, text, "l.csv", "line 3", "--encoding latin-1")
    ok, _ = run(
        "audit", str(tmp_path / "l.csv"), "--encoding", "latin-1", "--fail-on", "never", "-q"
    )
    assert ok.exit_code == 0


def test_utf8_bom_is_read_transparently(tmp_path):
    data = "\ufefftext,label\nhello world,1\nbye world,0\n".encode()
    path = write(tmp_path / "bom.csv", data)
    from dataqa.dataset import load

    ds = load(path)
    assert ds.roles.text == "text" and ds.roles.label == "label"


def test_ragged_csv_names_the_line(tmp_path):
    res, text = run("audit", write(tmp_path / "r.csv", b"text,label\na,1\nb,2,3\n"))
    assert_clear_error(res, text, "r.csv", "line 3", "3 fields")


def test_binary_file(tmp_path):
    res, text = run("audit", write(tmp_path / "b.csv", bytes(range(256)) * 10))
    assert_clear_error(res, text, "b.csv", "binary")


def test_corrupt_parquet(tmp_path):
    res, text = run("audit", write(tmp_path / "p.parquet", b"PAR1 not really"))
    assert_clear_error(res, text, "p.parquet", "Parquet")


def test_bad_jsonl_line(tmp_path):
    res, text = run("audit", write(tmp_path / "j.jsonl", b'{"text": "a"}\n{"text": \n'))
    assert_clear_error(res, text, "j.jsonl", "line 2")


def test_misnamed_column(tmp_path):
    path = write(tmp_path / "c.csv", b"text,label\na b,1\nc d,0\n")
    res, text = run("audit", path, "--text-col", "txt")
    assert_clear_error(res, text, "c.csv", "'txt'", "did you mean 'text'", "--text-col")


def test_no_text_column(tmp_path):
    path = write(tmp_path / "n.csv", b"a,b\n1,2\n3,4\n")
    res, text = run("audit", path)
    assert_clear_error(res, text, "n.csv", "--text-col")


def test_numeric_text_column(tmp_path):
    path = write(tmp_path / "num.csv", b"text,label\n1,a\n2,b\n3.5,a\n")
    res, text = run("audit", path)
    assert_clear_error(res, text, "num.csv", "column 'text'", "numbers")


def test_duplicate_ids(tmp_path):
    path = write(tmp_path / "d.csv", b"id,text,label\n1,a b,x\n2,c d,y\n1,e f,x\n")
    res, text = run("audit", path, "--id-col", "id")
    assert_clear_error(res, text, "d.csv", "column 'id'", "unique", "rows [0, 2]")


def test_bad_setting_and_unknown_check(tmp_path):
    path = write(tmp_path / "ok.csv", b"text,label\nhello there,1\nbye now,0\n")
    res, text = run("audit", path, "-s", "hygiene.nonsense=3")
    assert_clear_error(res, text, "nonsense", "min_words")
    res, text = run("audit", path, "--checks", "hygeine")
    assert_clear_error(res, text, "hygeine", "hygiene")


def test_nan_text_and_one_class_are_findings_not_crashes(tmp_path):
    """Missing text and a single class are data faults: the audit reports them (exit 1
    under --fail-on error) instead of refusing to run."""
    path = write(tmp_path / "one.csv", b"text,label\nhello there,a\n,a\nanother row,a\n")
    res, text = run("audit", path, "--json", str(tmp_path / "r.json"), "-q")
    assert res.exit_code == 1 and "Traceback" not in text
    import json

    report = json.loads((tmp_path / "r.json").read_text())
    missing = [f for f in report["findings"] if f["check"] == "hygiene.missing_text"]
    assert missing and missing[0]["row_ids"] == [1]


@pytest.mark.slow
def test_ten_megabyte_single_row(tmp_path):
    big = "word " * 2_000_000
    pd.DataFrame({"text": [big, "short row here"], "label": ["a", "b"]}).to_csv(
        tmp_path / "big.csv", index=False
    )
    res, text = run(
        "audit",
        str(tmp_path / "big.csv"),
        "--checks",
        "hygiene",
        "--json",
        str(tmp_path / "r.json"),
        "-q",
    )
    assert res.exit_code in (0, 1) and "Traceback" not in text
    import json

    checks = {f["check"]: f for f in json.loads((tmp_path / "r.json").read_text())["findings"]}
    assert checks["hygiene.too_long"]["row_ids"] == [0]
    assert len(checks["hygiene.too_long"]["evidence"]["examples"][0]["text"]) < 1000


@pytest.mark.parametrize("cmd", [["clean", "-o", "x.csv"], ["audit"]])
def test_missing_file_for_every_command(tmp_path, cmd):
    res, text = run(cmd[0], str(tmp_path / "absent.csv"), *cmd[1:])
    assert_clear_error(res, text, "absent.csv")


def test_repeated_column_names_in_a_frame():
    from dataqa.dataset import from_frame
    from dataqa.errors import DataQAError

    frame = pd.DataFrame([[1, "a b", 1]], columns=["id", "text", "id"])
    with pytest.raises(DataQAError, match="'id' appear more than once"):
        from_frame(frame, text_col="text")
