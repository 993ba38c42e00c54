"""Never damage data: each test names the kind of fault it covers (issue #12).

The round-trip property test over every format is in test_roundtrip.py.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from dataqa.cli import cli
from dataqa.dataset import ROW_ID, from_frame, load
from dataqa.errors import DataQAError
from dataqa.stages.audit import audit
from dataqa.stages.clean import CleanOptions, clean
from dataqa.text import invisible_junk, normalize_for_dedup, remove_invisible_junk

SENTENCES = [
    "The kettle boils water quickly and quietly every morning",
    "Shipping took three weeks and the box arrived crushed",
    "I would buy this toaster again without a second thought",
    "The handle broke off after two days of normal use",
    "Customer service answered my email within an hour",
    "Colours faded after the first wash, very disappointing",
    "Battery life is excellent, lasts the whole weekend",
    "The instructions were missing and the parts did not fit",
]


def base_frame(n: int = 8) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "text": SENTENCES[:n],
            "label": ["pos", "neg", "pos", "neg", "pos", "neg", "pos", "neg"][:n],
        }
    )


def run(*args):
    res = CliRunner().invoke(cli, [str(a) for a in args])
    return res, res.output + (res.stderr if res.stderr_bytes is not None else "")


# ---- files and containers ----------------------------------------------------------------


def test_csv_bare_carriage_return_in_quoted_field_round_trips(tmp_path):
    src = tmp_path / "in.csv"
    rows = base_frame()
    rows.loc[3, "text"] = "Great kettle.\rThe lid rattles a bit"
    body = "text,label\n" + "".join(
        '"' + t.replace('"', '""') + '",' + lab + "\n"
        for t, lab in zip(rows.text, rows.label, strict=False)
    )
    src.write_text(body, newline="")
    res, text = run("clean", src, "-o", tmp_path / "out.csv", "--no-fix-text", "-q")
    assert res.exit_code == 0, text
    back = pd.read_csv(tmp_path / "out.csv")
    assert len(back) == len(rows)
    assert back[ROW_ID].tolist() == list(range(len(rows)))
    assert back.loc[3, "text"] == "Great kettle.\rThe lid rattles a bit"


def test_tsv_backslashes_quotes_newlines_tabs_round_trip(tmp_path):
    df = base_frame()
    df.loc[0, "text"] = "C:\\Program Files\\Acme\\new is the install path"
    df.loc[1, "text"] = 'He said "hi" and left'
    df.loc[2, "text"] = "line one\nline two"
    df.loc[3, "text"] = "a field\twith a tab inside"
    src = tmp_path / "in.tsv"
    df.to_csv(src, sep="\t", index=False)  # pandas' standard quoting: the tab is quoted
    ds = load(src)
    assert ds.frame["text"].tolist() == df["text"].tolist()
    res, text = run("clean", src, "-o", tmp_path / "out.tsv", "--no-fix-text", "-q")
    assert res.exit_code == 0, text
    ours = load(tmp_path / "out.tsv")
    theirs = pd.read_csv(tmp_path / "out.tsv", sep="\t")
    assert ours.frame["text"].tolist() == df["text"].tolist()
    assert theirs["text"].tolist() == df["text"].tolist()


def test_plain_tsv_with_quote_characters_keeps_them(tmp_path):
    src = tmp_path / "glue.tsv"
    src.write_text('sentence\tlabel\n"hero" of the film , sort of\t1\nthe "best" part\t0\n')
    ds = load(src)
    assert ds.frame["sentence"].tolist() == ['"hero" of the film , sort of', 'the "best" part']
    res, text = run("clean", src, "-o", tmp_path / "out.tsv", "-q")
    assert res.exit_code == 0, text
    assert load(tmp_path / "out.tsv").frame["sentence"].tolist() == ds.frame["sentence"].tolist()


def test_parquet_categorical_with_missing_text_cleans_and_keeps_dtype(tmp_path):
    df = base_frame()
    df.loc[2, "text"] = None
    df["text"] = df["text"].astype("category")
    df["label"] = df["label"].astype("category")
    df.to_parquet(tmp_path / "in.parquet")
    res, text = run("clean", tmp_path / "in.parquet", "-o", tmp_path / "out.parquet", "-q")
    assert res.exit_code == 0, text
    kept = pd.read_parquet(tmp_path / "out.parquet")
    held = pd.read_parquet(tmp_path / "out.quarantine.parquet")
    assert held[ROW_ID].tolist() == [2]
    assert isinstance(kept["label"].dtype, pd.CategoricalDtype)
    assert list(kept["label"].cat.categories) == ["neg", "pos"]


def test_jsonl_lone_surrogate_is_flagged_repaired_and_logged(tmp_path):
    src = tmp_path / "in.jsonl"
    lines = [json.dumps({"text": t, "label": lab}) for t, lab in base_frame().values]
    lines[2] = '{"text": "emoji cut \\ud83d in half, still a review", "label": "pos"}'
    src.write_text("\n".join(lines) + "\n")
    report = audit(load(src), checks=["hygiene"])
    flagged = [f for f in report.findings if f.check == "hygiene.invalid_unicode"]
    assert [f.row_ids for f in flagged] == [[2]]
    res, text = run("clean", src, "-o", tmp_path / "out.jsonl", "-q")
    assert res.exit_code == 0, text
    out = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert out[2]["text"] == "emoji cut \ufffd in half, still a review"
    changes = pd.read_json(tmp_path / "out.changes.jsonl", lines=True)  # the kept file's format
    assert changes.loc[changes.step == "repair_surrogates", ROW_ID].tolist() == [2]


def test_quarantined_row_with_surrogate_is_written_back_as_it_came(tmp_path):
    src = tmp_path / "in.jsonl"
    rows = [{"text": t, "label": lab} for t, lab in base_frame().values]
    rows.append({"text": None, "label": "pos", "note": "cut \ud83d"})  # quarantined: no text
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    res, text = run("clean", src, "-o", tmp_path / "out.jsonl", "-q")
    assert res.exit_code == 0, text
    held = (tmp_path / "out.quarantine.jsonl").read_text()
    assert '"note": "cut \\ud83d"' in held
    kept = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert all("note" not in r for r in kept)  # a key a record never had stays absent


def test_datasets_classlabel_names_on_load_ids_on_write(tmp_path):
    datasets = pytest.importorskip("datasets")
    datasets.disable_progress_bars()
    feats = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])}
    )
    df = base_frame()
    hf = datasets.Dataset.from_dict(
        {"text": df.text.tolist(), "label": [int(v == "pos") for v in df.label]}, features=feats
    )
    hf.save_to_disk(str(tmp_path / "in_ds"))
    ds = load(tmp_path / "in_ds")
    assert ds.labels.tolist() == df.label.tolist()  # names, not 0/1
    res, text = run("clean", tmp_path / "in_ds", "-o", tmp_path / "out_ds", "-q")
    assert res.exit_code == 0, text
    back = datasets.load_from_disk(str(tmp_path / "out_ds"))
    assert back.features["label"] == feats["label"]
    assert back["label"] == [int(v == "pos") for v in df.label]
    res, text = run("clean", tmp_path / "in_ds", "-o", tmp_path / "out.csv", "-q")
    assert pd.read_csv(tmp_path / "out.csv")["label"].tolist() == df.label.tolist()


def test_utf16_with_bom_is_read(tmp_path):
    base_frame().to_csv(tmp_path / "u16.csv", index=False, encoding="utf-16")
    ds = load(tmp_path / "u16.csv")
    assert ds.frame["text"].tolist() == SENTENCES
    assert ds.io.encoding == "utf-16"


def test_utf16_without_bom_is_named_not_called_binary(tmp_path):
    (tmp_path / "u.csv").write_bytes(base_frame().to_csv(index=False).encode("utf-16-le"))
    res, text = run("audit", tmp_path / "u.csv")
    assert res.exit_code == 2 and "utf-16" in text.lower() and "--encoding" in text


def test_non_utf8_gets_an_encoding_suggestion(tmp_path):
    data = "text,label\n" + "".join(f"{t} café crème brûlée,pos\n" for t in SENTENCES)
    (tmp_path / "w.csv").write_bytes(data.encode("cp1252"))
    res, text = run("audit", tmp_path / "w.csv")
    assert res.exit_code == 2 and "line 2" in text and "--encoding" in text
    assert "charset-normalizer" in text


@pytest.mark.parametrize("kind", ["gz", "bz2", "xz", "zip"])
def test_compressed_inputs_load(tmp_path, kind):
    raw = base_frame().to_csv(index=False).encode()
    path = tmp_path / f"in.csv.{kind}"
    if kind == "zip":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("in.csv", raw)
    else:
        import bz2
        import lzma

        opener = {"gz": gzip.open, "bz2": bz2.open, "xz": lzma.open}[kind]
        with opener(path, "wb") as fh:
            fh.write(raw)
    assert load(path).frame["text"].tolist() == SENTENCES


def test_gzip_output_is_compressed_and_reads_back(tmp_path):
    base_frame().to_csv(tmp_path / "in.csv", index=False)
    res, text = run("clean", tmp_path / "in.csv", "-o", tmp_path / "out.csv.gz", "-q")
    assert res.exit_code == 0, text
    assert (tmp_path / "out.csv.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert pd.read_csv(tmp_path / "out.csv.gz")["text"].tolist() == SENTENCES


def test_zip_with_several_files_is_a_clear_error(tmp_path):
    with zipfile.ZipFile(tmp_path / "two.zip", "w") as z:
        z.writestr("a.csv", "text\nx\n")
        z.writestr("b.csv", "text\ny\n")
    with pytest.raises(DataQAError, match="holds 2 files"):
        load(tmp_path / "two.zip", fmt="csv")


@pytest.mark.parametrize(
    "doc",
    [
        {"data": [{"text": s, "label": "pos"} for s in SENTENCES], "version": "1.0"},
        {"text": SENTENCES, "label": ["pos"] * len(SENTENCES)},
    ],
    ids=["wrapped", "columns"],
)
def test_json_wrappers_load_and_write_back_in_their_shape(tmp_path, doc):
    (tmp_path / "in.json").write_text(json.dumps(doc))
    assert load(tmp_path / "in.json").frame["text"].tolist() == SENTENCES
    res, text = run("clean", tmp_path / "in.json", "-o", tmp_path / "out.json", "-q")
    assert res.exit_code == 0, text
    out = json.loads((tmp_path / "out.json").read_text())
    assert isinstance(out, dict) and set(doc) <= set(out)
    if "version" in doc:
        assert out["version"] == "1.0"


def test_json_object_without_records_is_a_clear_error(tmp_path):
    (tmp_path / "in.json").write_text(json.dumps({"name": "x", "n": 3}))
    with pytest.raises(DataQAError, match="none of them is the list of records"):
        load(tmp_path / "in.json")


@pytest.mark.slow
def test_json_values_keep_their_types(tmp_path):
    rows = [{"text": s, "label": i % 2, "score": 0.1234567890123} for i, s in enumerate(SENTENCES)]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    ds = load(tmp_path / "in.jsonl")
    result = clean(
        ds, options=CleanOptions(label_errors="relabel", label_threshold=0.0), report=None
    )
    from dataqa.io import write_table

    write_table(result.kept.frame, tmp_path / "out.jsonl", source=result.kept.io)
    out = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert all(isinstance(r["label"], int) for r in out)  # never "1"
    assert all(r["score"] == 0.1234567890123 for r in out)  # full precision


@pytest.mark.parametrize(
    "content, match",
    [
        ('text,label\n"unterminated,pos\nmore,neg\n', "line"),
        ('text,label\n"quoted" then text,pos\n', "quoted field must end"),
        ("text,text\na,b\n", "more than once"),
        (",\nx,y\n", "header row is empty"),
        ("text,label\n", "header but no data rows"),
    ],
    ids=["unterminated-quote", "text-after-quote", "repeated-header", "empty-header", "no-rows"],
)
def test_odd_headers_and_quoting_are_clear_errors(tmp_path, content, match):
    (tmp_path / "bad.csv").write_text(content)
    res, text = run("audit", tmp_path / "bad.csv")
    assert res.exit_code == 2, text
    assert "internal error" not in text and "bad.csv" in text
    assert match in text


# ---- text in every script ----------------------------------------------------------------


def test_zero_width_joiners_in_persian_and_emoji_are_text():
    persian = "\u0645\u0646 \u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
    family = "family \U0001f468\u200d\U0001f469\u200d\U0001f467 loves it"
    assert invisible_junk(persian) == [] and invisible_junk(family) == []
    assert remove_invisible_junk(persian) == persian


@pytest.mark.parametrize(
    "junk",
    ["zero\u200bwidth", "admin\u202eexe.txt", "soft\u00adhyphen", "bom\ufeffmid", "ab\u200dcd"],
)
def test_invisible_junk_is_still_caught(junk):
    assert invisible_junk(junk) != []


def test_clean_keeps_persian_and_emoji_but_strips_junk():
    df = base_frame()
    df.loc[0, "text"] = (
        "\u0645\u0646 \u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 \u0627\u06cc\u0646"
    )
    df.loc[1, "text"] = "family \U0001f468\u200d\U0001f469\u200d\U0001f467 loves this kettle"
    df.loc[2, "text"] = "zero\u200bwidth junk inside an ascii word here"
    result = clean(from_frame(df), options=CleanOptions(language="keep"))
    changed = set(result.changes.loc[result.changes.step == "remove_control_chars", ROW_ID])
    assert changed == {2}
    assert result.kept.frame.loc[0, "text"] == df.loc[0, "text"]
    assert result.kept.frame.loc[1, "text"] == df.loc[1, "text"]
    report = audit(from_frame(df), checks=["hygiene"])
    junk = [f for f in report.findings if f.check == "hygiene.control_chars"]
    assert [f.row_ids for f in junk] == [[2]]


@pytest.mark.parametrize(
    "a, b",
    [
        ("+1 would recommend", "-1 would recommend"),
        ("Delivery speed \U0001f44d", "Delivery speed \U0001f44e"),
        ("Grade A+", "Grade A-"),
        ("costs 1.5 dollars", "costs 15 dollars"),
    ],
)
def test_duplicate_key_keeps_signs_emoji_symbols_numbers(a, b):
    keys = normalize_for_dedup(pd.Series([a, b]))
    assert keys[0] != keys[1]


@pytest.mark.parametrize(
    "a, b",
    [
        ("The kettle is GREAT!", "the kettle is great."),
        ("\u201cGreat\u201d  product", '"great" product'),
        ("Has my top-up gone through?", "Has my top up gone through?"),
        ("\uff27\uff52\uff45\uff41\uff54 value", "Great value"),  # full-width letters
    ],
)
def test_duplicate_key_folds_what_does_not_change_meaning(a, b):
    keys = normalize_for_dedup(pd.Series([a, b]))
    assert keys[0] == keys[1]


def test_contrast_pairs_are_not_conflicting_duplicates():
    df = base_frame()
    pairs = [
        ("+1 would recommend", "pos"),
        ("-1 would recommend", "neg"),
        ("Delivery speed \U0001f44d", "pos"),
        ("Delivery speed \U0001f44e", "neg"),
        ("Overall grade A+", "pos"),
        ("Overall grade A-", "neg"),
        ("I liked the kettle a lot", "pos"),
        ("I never liked the kettle a lot", "neg"),
    ]
    df = pd.concat([df, pd.DataFrame(pairs, columns=["text", "label"])], ignore_index=True)
    result = clean(from_frame(df))
    assert len(result.quarantine) == 0
    # ... while a real conflict (same words, other label) is still caught
    df.loc[len(df)] = ["The kettle boils water quickly and quietly every morning!", "neg"]
    report = audit(from_frame(df), checks=["duplicates"])
    conflicts = [f.row_ids for f in report.findings if f.check == "duplicates.conflict"]
    assert conflicts == [[0, len(df) - 1]]


def test_label_variants_trim_whitespace_before_picking():
    df = pd.DataFrame(
        {"text": SENTENCES * 2, "label": ["negative  "] * 10 + ["negative"] * 3 + ["positive"] * 3}
    )
    result = clean(from_frame(df), options=CleanOptions(dedupe="none", conflicts="keep"))
    assert set(result.kept.frame["label"]) == {"negative", "positive"}
    relabelled = result.changes[result.changes.step == "relabel"]
    assert len(relabelled) == 10 and set(relabelled["after"]) == {"negative"}


def test_word_units_make_too_short_meaningful_for_cjk_and_thai():
    df = pd.DataFrame(
        {
            "text": [
                "\u6211\u60f3\u4e70\u8fd9\u4e2a\u6c34\u58f6\uff0c\u5b83\u5f88\u597d\u7528",
                "\u0e01\u0e32\u0e15\u0e49\u0e21\u0e19\u0e49\u0e33\u0e19\u0e35\u0e49\u0e14\u0e35\u0e21\u0e32\u0e01",
                "ok",
            ]
        }
    )
    report = audit(df, checks=["hygiene"])
    short = [f.row_ids for f in report.findings if f.check == "hygiene.too_short"]
    assert short == [[2]]


def test_language_id_does_not_flag_fragments_of_the_main_language():
    fragments = ["a bad movie ,", "funny , triumphant ,", "a faulty premise ,", "hell , i dunno"]
    english = [s.lower() for s in SENTENCES] * 10
    foreign = [
        "Der Wasserkocher ist sehr schnell und leise, ich bin wirklich zufrieden damit",
        "La bouilloire est tombée en panne après deux semaines, je suis très déçu",
        "El envío tardó tres semanas y la caja llegó completamente aplastada",
        "Il servizio clienti ha risposto alla mia email in meno di un'ora",
    ]
    df = pd.DataFrame({"text": english + fragments * 20 + foreign})
    report = audit(df, checks=["hygiene"])
    flagged = {r for f in report.findings if f.check == "hygiene.language" for r in f.row_ids}
    assert flagged == set(range(len(df) - 4, len(df)))  # the four foreign rows, nothing else
    # the fragments are English by the dictionary; foreign fragments would be undetermined
    assert report.stats["hygiene"]["language"]["main"] == "en"


@pytest.mark.slow
def test_language_id_on_sst2_flags_almost_nothing(sst2_train):
    report = audit(sst2_train, checks=["hygiene"])
    flagged = sum(len(f.row_ids) for f in report.findings if f.check == "hygiene.language")
    assert flagged <= 5  # was 81 of 67k (369 of 300k) before evidence was required


# ---- writing: never over the input, never a mixed set ------------------------------------


@pytest.mark.parametrize("command", ["clean", "audit"])
def test_output_over_input_is_refused_without_force(tmp_path, command):
    src = tmp_path / "same.csv"
    base_frame().to_csv(src, index=False)
    before = src.read_bytes()
    flag = "-o" if command == "clean" else "--json"
    res, text = run(command, src, flag, src, "-q")
    assert res.exit_code == 2 and "--force" in text and "replace the input" in text
    assert src.read_bytes() == before
    if command == "clean":
        res, text = run(command, src, flag, src, "-q", "--force")
        assert res.exit_code == 0, text


def test_unwritable_output_folder_is_a_user_error(tmp_path):
    if os.geteuid() == 0:
        blocker = tmp_path / "file"  # root ignores permissions: a file in the way instead
        blocker.write_text("x")
        target = blocker / "sub" / "out.csv"
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        target = locked / "out.csv"
    base_frame().to_csv(tmp_path / "in.csv", index=False)
    res, text = run("clean", tmp_path / "in.csv", "-o", target, "-q")
    assert res.exit_code == 2 and "internal error" not in text and "dataqa: error:" in text


@pytest.mark.parametrize("name", ["out.xlsx", "out.feather", "out.xlsx.gz"])
def test_output_of_a_foreign_file_type_is_refused_before_the_run(tmp_path, name):
    base_frame().to_csv(tmp_path / "in.csv", index=False)
    res, text = run("clean", tmp_path / "in.csv", "-o", tmp_path / name, "-q")
    assert res.exit_code == 2 and f"does not write .{name.split('.')[1]}" in text, text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]  # nothing written


def test_a_pipe_as_output_is_refused_not_replaced(tmp_path):
    import stat

    base_frame().to_csv(tmp_path / "in.csv", index=False)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    res, text = run("clean", tmp_path / "in.csv", "-o", fifo, "-q")
    assert res.exit_code == 2 and "device, pipe or socket" in text, text
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # still a pipe, not a CSV renamed over it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "pipe"]


def test_a_failed_write_names_the_users_path_not_a_temporary_one(tmp_path):
    from dataqa.io import write_outputs

    final = tmp_path / "x.labels.parquet"

    def fails(tmp):  # what pyarrow raises: no filename, the temporary path in the text
        raise OSError(f"Failed to open local file '{tmp}'. Detail: [errno 2] No such file")

    with pytest.raises(DataQAError) as err:
        write_outputs([(final, fails)])
    text = str(err.value)
    assert str(final) in text and ".dataqa-" not in text and "errno 2" in text


def test_flagged_rows_csv_gets_the_umasks_permissions(tmp_path):
    src = tmp_path / "in.csv"
    frame = base_frame()
    frame.loc[1, "text"] = frame.loc[0, "text"]
    frame.to_csv(src, index=False)
    old = os.umask(0o022)
    try:
        res, text = run("audit", src, "--checks", "duplicates", "--html", tmp_path / "r.html")
    finally:
        os.umask(old)
    flagged = tmp_path / "r.flagged.csv"
    assert flagged.exists(), text
    assert flagged.stat().st_mode & 0o777 == 0o644


def test_unreadable_input_is_a_user_error(tmp_path, monkeypatch):
    src = tmp_path / "in.csv"
    base_frame().to_csv(src, index=False)

    def denied(*a, **k):
        raise PermissionError(13, "Permission denied", str(src))

    monkeypatch.setattr("dataqa.io.readers.open", denied, raising=False)
    res, text = run("audit", src)
    assert (
        res.exit_code == 2 and "internal error" not in text and "permission denied" in text.lower()
    )


KILLER = r"""
import os, sys, time
from pathlib import Path
from dataqa.io import write_outputs
folder, tag = Path(sys.argv[1]), sys.argv[2]
names = ["kept.csv", "kept.quarantine.csv", "kept.changes.csv"]
def writer(name):
    def w(tmp):
        with open(tmp, "w") as fh:
            for i in range(20000):
                fh.write(f"{tag},{name},{i}\n")
    return w
import dataqa.io.writers as W
real = os.replace
def slow_replace(a, b):
    real(a, b)
    time.sleep(0.05)
W.os.replace = slow_replace
write_outputs([(folder / n, writer(n)) for n in names])
"""


def _tags(folder: Path) -> dict[str, str]:
    out = {}
    for name in ["kept.csv", "kept.quarantine.csv", "kept.changes.csv"]:
        p = folder / name
        if p.exists():
            first = p.read_text().split(",", 1)[0]
            out[name] = first
    return out


@pytest.mark.slow
def test_interrupted_write_never_leaves_a_mixed_set(tmp_path):
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    folder = tmp_path / "out"
    folder.mkdir()
    subprocess.run([sys.executable, script, folder, "old"], check=True)
    assert set(_tags(folder).values()) == {"old"}
    rng = np.random.default_rng(0)
    for attempt in range(6):
        proc = subprocess.Popen([sys.executable, script, folder, f"new{attempt}"])
        import time

        time.sleep(0.6 + float(rng.uniform(0, 0.6)))
        proc.kill()
        proc.wait()
        tags = set(_tags(folder).values())
        assert len(tags) <= 1, f"mixed set after kill: {_tags(folder)}"
        # the next writer (or load) finishes what the killed one started
        from dataqa.io.writers import recover

        recover(folder)
        assert len(set(_tags(folder).values())) == 1
        assert len(_tags(folder)) == 3
    subprocess.run([sys.executable, script, folder, "final"], check=True)
    assert set(_tags(folder).values()) == {"final"}
    assert not list(folder.glob(".*.tmp")) and not list(folder.glob(".dataqa-commit-*"))


def test_failed_set_write_leaves_the_old_set_and_no_temporaries(tmp_path, monkeypatch):
    from dataqa.io import write_outputs

    names = [tmp_path / "a.csv", tmp_path / "b.csv"]
    write_outputs([(p, lambda t: Path(t).write_text("old")) for p in names])

    def fail(t):
        raise OSError(28, "No space left on device")

    with pytest.raises(DataQAError, match="No space left"):
        write_outputs([(names[0], lambda t: Path(t).write_text("new")), (names[1], fail)])
    assert [p.read_text() for p in names] == ["old", "old"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv"]


# ---- numeric edge cases: a finding, never a crash ----------------------------------------


@pytest.mark.parametrize(
    "errors",
    [
        [0.5, 0.5, 0.5, 0.5],
        [0.0] * 4,
        [1.0] * 4,
        [0.3, float("nan"), 0.2, 0.1],
        [0.9, 0.1, 0.9, 0.1],
    ],
    ids=["flat", "perfect", "hopeless", "nan", "noisy"],
)
def test_learning_curve_fit_survives_degenerate_curves(errors):
    from dataqa.checks.size import fit_power_law

    fit = fit_power_law([8, 16, 32, 64], errors, n_now=81)
    if fit is not None:
        assert all(np.isfinite(fit[k]) for k in ("a", "b", "c", "accuracy_at_n"))
        if errors[0] == errors[-1] or errors == [0.9, 0.1, 0.9, 0.1]:
            assert fit["rows_for_plus_1pt"] is None or not fit["reliable"]


@pytest.mark.parametrize(
    "texts, labels",
    [
        (["same text here"] * 81, ["a", "b", "c"] * 27),  # flat: nothing to learn
        (["one row only"], ["a"]),
        (["two rows", "two more rows"], ["a", "b"]),
        ([f"row number {i}" for i in range(40)], ["a"] * 39 + ["b"]),
    ],
    ids=["81-flat", "one-row", "two-rows", "one-minority"],
)
@pytest.mark.slow
def test_every_check_survives_tiny_and_flat_sets(texts, labels):
    report = audit(pd.DataFrame({"text": texts, "label": labels}))
    assert isinstance(report.findings, list)
    json.dumps(report.to_dict() if hasattr(report, "to_dict") else report.stats, default=str)


# ---- what a new user broke (second round) ------------------------------------------------


@pytest.mark.slow
def test_an_existing_folder_is_never_replaced_by_an_output(tmp_path):
    keep = tmp_path / "results"
    (keep / "sub").mkdir(parents=True)
    (keep / "important.txt").write_text("precious")
    base_frame().to_csv(tmp_path / "in.csv", index=False)
    for args in (
        ["clean", tmp_path / "in.csv", "-o", keep],
        ["audit", tmp_path / "in.csv", "--json", keep],
    ):
        res, text = run(*args, "-q")
        assert res.exit_code == 2 and "existing folder" in text
    assert (keep / "important.txt").read_text() == "precious" and (keep / "sub").is_dir()


def test_datasetdict_folder_reads_the_split_asked_for(tmp_path):
    datasets = pytest.importorskip("datasets")
    datasets.disable_progress_bars()
    df = base_frame()
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_pandas(df),
            "test": datasets.Dataset.from_pandas(df.head(3)),
        }
    ).save_to_disk(str(tmp_path / "dd"))
    assert len(load(tmp_path / "dd")) == 8 and len(load(tmp_path / "dd", split="test")) == 3
    with pytest.raises(DataQAError, match="splits"):
        load(tmp_path / "dd", split="dev")


def test_plain_tsv_keeps_literal_quotes_in_and_out(tmp_path):
    src = tmp_path / "glue.tsv"
    src.write_text('label\tsentence\n1\t"a fully quoted phrase"\n0\tthe "best" part\n1\tplain\n')
    assert load(src).frame["sentence"].tolist()[:2] == [
        '"a fully quoted phrase"',
        'the "best" part',
    ]
    res, text = run("clean", src, "-o", tmp_path / "out.tsv", "-q")
    assert res.exit_code == 0, text
    body = (tmp_path / "out.tsv").read_text()
    assert '\t"a fully quoted phrase"\n' in body and '"""' not in body  # still plain


def test_values_that_are_not_text_are_left_alone_and_reported(tmp_path):
    rows = [{"text": ["a", "b"], "label": "x"}, {"text": 12345, "label": "y"}]
    rows += [{"text": t, "label": lab} for t, lab in base_frame().values]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = audit(load(tmp_path / "in.jsonl"), checks=["hygiene"])
    assert [f.row_ids for f in report.findings if f.check == "hygiene.not_text"] == [[0, 1]]
    res, text = run("clean", tmp_path / "in.jsonl", "-o", tmp_path / "out.jsonl", "-q")
    out = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert out[0]["text"] == ["a", "b"] and out[1]["text"] == 12345


def test_a_repeated_header_line_is_quarantined(tmp_path):
    body = "text,label\n" + "".join(f'"{t}",{lab}\n' for t, lab in base_frame().values)
    (tmp_path / "joined.csv").write_text(body + "text,label\n" + body.split("\n", 1)[1])
    report = audit(load(tmp_path / "joined.csv"), checks=["hygiene"])
    assert [f.row_ids for f in report.findings if f.check == "hygiene.header_row"] == [[8]]


def test_own_columns_are_kept_or_refused(tmp_path):
    df = base_frame()
    df.insert(0, ROW_ID, [10] * len(df))
    df.to_csv(tmp_path / "ids.csv", index=False)
    with pytest.raises(DataQAError, match="dataqa's own id column"):
        load(tmp_path / "ids.csv")
    q = base_frame()
    q["dataqa_reasons"] = "earlier reason"
    q.loc[0, "text"] = None
    result = clean(from_frame(q))
    assert result.quarantine.loc[0, "dataqa_reasons"].startswith("earlier reason; ")


def test_change_logs_of_outputs_with_one_name_do_not_collide(tmp_path):
    base_frame().to_csv(tmp_path / "in.csv", index=False)
    for out in ("x.csv", "x.parquet"):
        res, text = run("clean", tmp_path / "in.csv", "-o", tmp_path / out, "-q")
        assert res.exit_code == 0, text
    assert (tmp_path / "x.changes.csv").exists() and (tmp_path / "x.changes.parquet").exists()


def test_language_catches_every_script_and_spares_title_case_english():
    english = [s.lower() for s in SENTENCES] * 10
    titles = [
        "Lua WSAPI Plugin for uWSGI (Lua 5.1)",
        "MIT Kerberos Master Server (kadmind)",
        "OpenArena Community Map Pack 1",
        "GNU Standard C++ Library v3 (mips64el)",
    ]
    foreign = [
        "Как мне перевести деньги на другой счёт сегодня вечером?",
        "我想知道为什么我的银行卡被冻结了，请帮帮我",
        "मेरा कार्ड काम नहीं कर रहा है, कृपया मेरी मदद करें",
        "لماذا تم رفض بطاقتي عند الدفع في المتجر اليوم",
        "Γιατί απορρίφθηκε η πληρωμή με την κάρτα μου σήμερα το πρωί;",
    ]
    df = pd.DataFrame({"text": english + titles + foreign})
    report = audit(df, checks=["hygiene"])
    flagged = {r for f in report.findings if f.check == "hygiene.language" for r in f.row_ids}
    assert flagged == set(range(len(df) - len(foreign), len(df)))


@pytest.mark.slow
def test_typo_correction_never_touches_names_acronyms_or_negations():
    from dataqa.text.repairs import correct_typos

    texts = pd.Series(
        [
            "Teh kettel works",
            "Lua WSAPI plugin",
            "GL/GLES/EGL/GLX/WGL",
            "Debugger API",
            "I didnt like it",
            "I dont knwo what to sya",
        ]
    )
    assert correct_typos(texts).tolist() == [
        "The kettle works",
        "Lua WSAPI plugin",
        "GL/GLES/EGL/GLX/WGL",
        "Debugger API",
        "I didn't like it",
        "I don't know what to say",
    ]


@pytest.mark.parametrize(
    "a, b",
    [
        ("The app is good.", "The app is good?"),
        ("It is likely to rain today here", "It is unlikely to rain today here"),
        ("I called them twice last week", "I called them thrice last week"),
    ],
)
def test_questions_number_words_and_negated_words_are_contrasts(a, b):
    df = pd.DataFrame({"text": [a, b], "label": ["x", "y"]})
    assert audit(df, checks=["duplicates"]).findings == []


def test_label_variants_fold_invisible_and_width_but_case_only_when_dominant():
    labs = ["neutral"] * 5 + ["neutral\u200b"] + ["pos"] * 5 + ["\uff50\uff4f\uff53"]
    labs += ["us"] * 4 + ["US"] * 4
    df = pd.DataFrame({"text": [f"row number {i} here" for i in range(len(labs))], "label": labs})
    found = {
        f.fix.to: f.row_ids
        for f in audit(df, checks=["hygiene"]).findings
        if f.check == "hygiene.label_variants"
    }
    assert found == {"neutral": [5], "pos": [11]}


def test_markup_repair_spares_a_lone_tag_in_prose_and_code_keeps_its_indentation():
    from dataqa.text.repairs import normalize_whitespace, strip_markup

    assert strip_markup(pd.Series(["Use the <script> tag", "a <b>bold</b> claim"])).tolist() == [
        "Use the <script> tag",
        "a bold claim",
    ]
    code = "def f(x):\n    if x:   return  1"
    assert normalize_whitespace(pd.Series([code])).tolist() == ["def f(x):\n    if x: return 1"]


@pytest.mark.parametrize(
    "args, match",
    [
        (["--text-col", "text", "--label-col", "text"], "two roles"),
        (["--checks", ""], "names no check"),
    ],
)
def test_contradictory_options_are_clear_errors(tmp_path, args, match):
    base_frame().to_csv(tmp_path / "in.csv", index=False)
    res, text = run("audit", tmp_path / "in.csv", *args)
    assert res.exit_code == 2 and match in text


def test_an_unwritable_output_format_fails_before_any_work(tmp_path):
    base_frame().to_csv(tmp_path / "in.csv", index=False)
    res, text = run("clean", tmp_path / "in.csv", "-o", tmp_path / "out.csv.zst")
    assert res.exit_code == 2 and "does not write zstd" in text


def test_run_writes_the_curated_set_in_the_inputs_format_and_types(tmp_path):
    """`dataqa run` on Parquet: curated, quarantine and change log come back as Parquet with
    the input's dtypes (a categorical label, an int and a float column, a null), not as CSV
    text; kept + quarantined are the input's rows by id."""
    from dataqa.demo import make_demo
    from dataqa.pipeline import run_pipeline

    train, _, _ = make_demo(rows=200, seed=5)
    train = train[["text", "label"]].copy()
    train["label"] = train["label"].astype("category")
    train["stars"] = np.arange(len(train), dtype="int32") % 5
    train["score"] = np.linspace(0, 1, len(train))
    train.loc[3, "score"] = np.nan
    train.to_parquet(tmp_path / "train.parquet", index=False)
    (tmp_path / "p.yaml").write_text(
        "out: out\ndata: {train: train.parquet, label_col: label}\n"
        "stages:\n  audit: {checks: [hygiene, duplicates]}\n  clean: {conflicts: quarantine}\n"
    )
    run_pipeline(tmp_path / "p.yaml")
    out = tmp_path / "out"
    kept = pd.read_parquet(out / "curated.parquet")
    quarantined = pd.read_parquet(out / "clean.quarantine.parquet")
    assert (out / "clean.changes.parquet").is_file() and not list(out.glob("curated.csv"))
    assert isinstance(kept["label"].dtype, pd.CategoricalDtype)
    assert list(kept["label"].cat.categories) == list(train["label"].cat.categories)
    assert kept["stars"].dtype == "int32" and kept["score"].dtype == "float64"
    ids = sorted(kept[ROW_ID].tolist() + quarantined[ROW_ID].tolist())
    assert ids == list(range(len(train))) and len(quarantined) > 0
    same = train.loc[kept[ROW_ID]].reset_index(drop=True)
    pd.testing.assert_series_equal(kept["stars"], same["stars"])
    pd.testing.assert_series_equal(kept["score"], same["score"])


@pytest.mark.parametrize("name", ["curated.csv", "report.json", "clean.quarantine.csv"])
def test_run_refuses_to_write_over_its_own_input(tmp_path, name):
    """`out: .` beside a train file the run would also write: exit 2 before anything is
    written, the raw file untouched (trial 3 lost its raw rows this way)."""
    from dataqa.demo import make_demo

    train, _, _ = make_demo(rows=60, seed=1)
    train.to_csv(tmp_path / name, index=False)
    before = (tmp_path / name).read_bytes()
    (tmp_path / "p.yaml").write_text(
        f"out: .\ndata: {{train: {name}, label_col: label}}\n"
        "stages:\n  audit: {checks: [hygiene]}\n  clean: {}\n"
    )
    res = CliRunner().invoke(cli, ["run", str(tmp_path / "p.yaml"), "-q"])
    assert res.exit_code == 2, res.output
    assert "over its own input" in res.output and "out:" in res.output
    assert (tmp_path / name).read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, "p.yaml"])


def test_gzip_output_header_names_the_file_and_is_reproducible(tmp_path):
    """The gzip header of `-o x.jsonl.gz` named the temporary file and held the time:
    it names x.jsonl now, and two runs give the same bytes."""
    from dataqa.io import write_table

    frame = pd.DataFrame({"text": ["one", "two"], "label": ["a", "b"]})
    a = write_table(frame, tmp_path / "x.jsonl.gz").read_bytes()
    b = write_table(frame, tmp_path / "y" / "x.jsonl.gz").read_bytes()
    assert a == b
    flags = a[3]
    assert flags & 0x08  # FNAME present
    name = a[10 : a.index(b"\x00", 10)]
    assert name == b"x.jsonl"
    with gzip.open(tmp_path / "x.jsonl.gz", "rt") as fh:
        assert [json.loads(line)["text"] for line in fh] == ["one", "two"]


def test_run_keeps_the_inputs_compression(tmp_path):
    from dataqa.demo import make_demo
    from dataqa.pipeline import run_pipeline

    train, _, _ = make_demo(rows=80, seed=2)
    with gzip.open(tmp_path / "train.jsonl.gz", "wt", encoding="utf-8") as fh:
        for rec in train[["text", "label"]].to_dict("records"):
            fh.write(json.dumps(rec) + "\n")
    (tmp_path / "p.yaml").write_text(
        "out: out\ndata: {train: train.jsonl.gz, label_col: label}\n"
        "stages:\n  audit: {checks: [hygiene]}\n  clean: {}\n"
    )
    run_pipeline(tmp_path / "p.yaml")
    out = tmp_path / "out"
    names = {p.name for p in out.iterdir()}
    assert {"curated.jsonl.gz", "clean.quarantine.jsonl.gz", "clean.changes.jsonl.gz"} <= names
    kept = pd.read_json(out / "curated.jsonl.gz", lines=True)
    q = pd.read_json(out / "clean.quarantine.jsonl.gz", lines=True)
    assert len(kept) + len(q) == len(train)
