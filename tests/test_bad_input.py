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


def test_a_check_asked_for_by_name_without_its_column_is_exit_2(tmp_path):
    """`--checks labels` on a file whose label column was not guessed (trial: a Debian
    file with `section`): exit 2 naming --label-col, not exit 0 with "0 rows flagged";
    the same for a clean policy that acts on the labels check."""
    path = tmp_path / "deb.csv"
    pd.DataFrame(
        {
            "description": [f"package number {i} does things" for i in range(40)],
            "section": ["libs", "net"] * 20,
        }
    ).to_csv(path, index=False)
    res = CliRunner().invoke(cli, ["audit", str(path), "--checks", "labels", "-q"])
    assert res.exit_code == 2 and "--label-col" in res.output, res.output
    out = tmp_path / "c.csv"
    res = CliRunner().invoke(
        cli, ["clean", str(path), "-o", str(out), "--label-errors", "relabel", "-q"]
    )
    assert res.exit_code == 2 and "--label-errors relabel" in res.output, res.output
    assert not out.exists()
    res = CliRunner().invoke(  # named: both run
        cli, ["audit", str(path), "--checks", "hygiene", "--label-col", "section", "-q"]
    )
    assert res.exit_code in (0, 1), res.output


def test_parquet_named_csv_is_named_and_the_fix_given(tmp_path):
    path = tmp_path / "data.csv"
    pd.DataFrame({"text": ["a b c", "d e f"] * 10, "label": ["x", "y"] * 10}).to_parquet(path)
    res = CliRunner().invoke(cli, ["audit", str(path), "-q"])
    assert res.exit_code == 2 and "is a Parquet file" in res.output, res.output
    assert "--format parquet" in res.output
    res = CliRunner().invoke(cli, ["audit", str(path), "--format", "parquet", "-q"])
    assert res.exit_code in (0, 1), res.output


def test_clean_warns_when_the_kept_rows_hold_one_class(tmp_path):
    path = tmp_path / "one.csv"
    pd.DataFrame(
        {"text": [f"row {i} says something useful" for i in range(30)], "label": ["pos"] * 30}
    ).to_csv(path, index=False)
    res = CliRunner().invoke(cli, ["clean", str(path), "-o", str(tmp_path / "c.csv"), "-q"])
    assert res.exit_code == 0, res.output
    assert "every kept row has the label 'pos'" in res.output
    two = tmp_path / "two.csv"
    pd.DataFrame(
        {"text": [f"row {i} says something useful" for i in range(30)], "label": ["a", "b"] * 15}
    ).to_csv(two, index=False)
    res = CliRunner().invoke(cli, ["clean", str(two), "-o", str(tmp_path / "d.csv"), "-q"])
    assert "every kept row" not in res.output
