"""Writers: a dataframe back to any format dataqa reads, so that it reads back the same.

Three promises, each tested by a round-trip property test:

- **Values survive.** Delimited files quote every field that needs it (the delimiter,
  `\\r`, `\\n`, a leading quote, and for CSV any quote, as RFC 4180 asks); JSON keeps
  each value's type and leaves out keys a record never had; Parquet keeps categorical
  columns; a `datasets` folder gets its `ClassLabel` ids back.
- **Nothing half-written.** A file is written under a temporary name and renamed.
- **Sets stay sets.** `write_outputs` writes several files that belong together (kept
  rows, quarantine, change log) so that a reader sees the old set, or the new set
  (perhaps while its members are still being moved into place), but never a mix of
  the two: the new files are written, a journal is written, the old files are removed,
  the new ones renamed. A run killed after the journal is finished by the next run.

Outputs are UTF-8 whatever the input's encoding.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import math
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from dataqa.errors import DataQAError
from dataqa.io.readers import (
    COMPRESSIONS,
    OPENERS,
    Source,
    guess_format,
    quiet_datasets,
    require_datasets,
)

ROW_ID = "dataqa_row_id"
"""Column that carries row ids in every file dataqa writes."""
SURROGATE_RE = re.compile("[\ud800-\udfff]")
"""Lone UTF-16 surrogates: JSON can escape them, UTF-8 files cannot hold them."""


DATA_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".parquet", ".pq", ".ndjson", ".txt")
"""Extensions dataqa writes data in (`.txt` is TSV, as it reads it)."""
FOREIGN_SUFFIXES = frozenset(
    [
        ".xlsx",
        ".xls",
        ".xlsm",
        ".ods",
        ".feather",
        ".arrow",
        ".avro",
        ".orc",
        ".pkl",
        ".pickle",
        ".h5",
        ".hdf5",
        ".db",
        ".sqlite",
        ".xml",
        ".html",
        ".htm",
        ".yaml",
        ".yml",
        ".md",
        ".pdf",
        ".doc",
        ".docx",
        ".tar",
        ".7z",
        ".rar",
        ".dta",
        ".sav",
        ".npy",
        ".npz",
    ]
)
"""File types of other programs: an output so named is refused, not filled with CSV."""


def output_format(path: str | os.PathLike, source: Source | None = None) -> str:
    """The format to write `path` in: its extension, or the input's when it has none.

    Raises
    ------
    DataQAError
        The name ends in a file type dataqa does not write (`.xlsx`, `.feather`, ...):
        writing CSV text under that name would make a file its program cannot open.
    """
    p = Path(path)
    suffixes = [s.lower() for s in p.suffixes if s.lower() not in COMPRESSIONS]
    known = set(suffixes) & set(DATA_SUFFIXES)
    if not known and suffixes and suffixes[-1] in FOREIGN_SUFFIXES:
        raise DataQAError(
            f"dataqa does not write {suffixes[-1]} files",
            path=str(path),
            hint="name the output .csv, .tsv, .jsonl, .json or .parquet (optionally "
            ".gz, .bz2 or .xz), or a folder for a datasets dataset",
        )
    if known or source is None:
        fmt = guess_format(str(p)) if not p.is_dir() else "datasets"
        return "csv" if fmt == "hub" else fmt
    return "datasets" if source.format == "hub" else source.format


def write_table(
    frame: pd.DataFrame,
    path: str | os.PathLike,
    *,
    index: bool = True,
    source: Source | None = None,
    fmt: str | None = None,
) -> Path:
    """Write one table atomically (a temporary name in the same folder, then a rename).

    Parameters
    ----------
    frame : pandas.DataFrame
        The rows; its index holds the row ids.
    path : path-like
        Where to write; the extension picks the format (`.gz`, `.bz2`, `.xz` compress),
        a path without one takes the input's format from `source`.
    index : bool, default True
        Write the row ids as the first column, `dataqa_row_id`.
    source : Source, optional
        How the input was stored (`Dataset.meta["io"]`), to write it back the same way.
    fmt : str, optional
        Force the format.

    Raises
    ------
    DataQAError
        The folder cannot be written, or a value cannot be stored in the format (a
        lone surrogate in a UTF-8 file).
    """
    path = Path(path)
    write_outputs([(path, lambda tmp: serialize(frame, tmp, path, index, source, fmt))])
    return path


def serialize(
    frame: pd.DataFrame,
    tmp: Path,
    final: Path,
    index: bool = True,
    source: Source | None = None,
    fmt: str | None = None,
) -> None:
    """Write `frame` to `tmp` in the format `final` asks for (no atomicity here)."""
    fmt = fmt or output_format(final, source)
    out = _with_ids(frame) if index else frame.reset_index(drop=True)
    ids = frame.index if index else None
    if fmt == "datasets":
        _write_datasets(out, tmp, source)
        return
    if fmt == "parquet":
        _write_parquet(out, tmp, source)
        return
    compression = next((c for s, c in COMPRESSIONS.items() if final.name.lower().endswith(s)), None)
    with _open_out(tmp, compression, final) as fh:
        if fmt in ("jsonl", "json"):
            _write_json(out, fh, ids, source, lines=fmt == "jsonl")
        else:
            plain = source is None or (source.format == "tsv" and not source.tsv_quoted)
            _write_delimited(out, fh, "\t" if fmt == "tsv" else ",", final, plain)


def _with_ids(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.drop(columns=[ROW_ID]) if ROW_ID in frame.columns else frame
    ids = out.index
    if ids.inferred_type in ("mixed", "mixed-integer"):  # e.g. raw ints + "aug-3"
        ids = ids.map(str)
    out = out.reset_index(drop=True)
    out.insert(0, ROW_ID, np.asarray(ids, dtype=object) if ids.dtype == object else ids)
    return out


@contextlib.contextmanager
def _open_out(tmp: Path, compression: str | None, final: Path):
    if compression not in OPENERS:
        raise DataQAError(
            f"dataqa does not write {compression} files",
            path=str(tmp),
            hint="write .csv, .csv.gz, .jsonl, .jsonl.gz or .parquet",
        )
    if compression == "gzip":  # the header names the final file (not the temporary one)
        raw = open(tmp, "wb")  # noqa: SIM115 - closed below, after the gzip stream
        # and carries no time stamp: the same input and seed give the same bytes
        fh = gzip.GzipFile(filename=final.name, mode="wb", fileobj=raw, mtime=0)
    else:
        raw, fh = None, OPENERS[compression](tmp, "wb")
    try:
        yield fh
    finally:
        fh.close()
        if raw is not None:
            raw.close()


# ---- delimited ---------------------------------------------------------------------------


def _cell(value) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float | np.floating):
        return "" if math.isnan(value) else repr(float(value))
    if isinstance(value, bool | np.bool_ | int | np.integer):
        return str(value.item() if isinstance(value, np.generic) else value)
    if isinstance(value, dict | list | tuple | np.ndarray):
        return json.dumps(_plain(value), ensure_ascii=False)
    return str(value)


def _write_delimited(out: pd.DataFrame, fh, sep: str, final: Path, plain: bool = True) -> None:
    """RFC 4180 quoting: a field is quoted when it holds the delimiter, a line break or
    a quote, and a quote inside a quoted field is doubled.

    TSV keeps the convention it came in: a plain TSV (GLUE's, no quoting at all) stays
    plain while no field holds a tab or line break, so a `"` stays a character; else
    fields with a tab, a line break or a leading quote are quoted as pandas does.
    """
    values = {name: [_cell(v) for v in out[name].tolist()] for name in out.columns}
    if sep == ",":
        needs = re.compile('[,\r\n"]')
    else:
        breaks = re.compile("[\t\r\n]")
        plain = plain and not any(breaks.search(v) for col in values.values() for v in col if v)
        needs = re.compile("(?!)") if plain else re.compile('[\t\r\n]|^"')
    columns = [[_quote(v, needs) for v in col] for col in values.values()]
    header = [_quote(str(c), needs) for c in out.columns]
    lines = [sep.join(header)] + [sep.join(row) for row in zip(*columns, strict=True)]
    text = "\n".join(lines) + "\n"
    bad = SURROGATE_RE.search(text)
    if bad:
        raise DataQAError(
            "a row holds a lone surrogate (half of an emoji or other character) that a "
            "UTF-8 file cannot store",
            path=str(final),
            hint="write JSON lines (.jsonl) instead, or let `dataqa clean` repair the text",
        )
    fh.write(text.encode("utf-8"))


def _quote(value: str, needs: re.Pattern) -> str:
    if needs.search(value):
        return '"' + value.replace('"', '""') + '"'
    return value


# ---- JSON --------------------------------------------------------------------------------


def _plain(value):
    """A JSON-able Python value for anything pandas, numpy or pyarrow hands back."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _json_default(value):
    plain = _plain(value)
    if plain is value:
        return str(value)
    return plain


def _dumps(obj) -> str:
    text = json.dumps(obj, ensure_ascii=False, default=_json_default)
    # a lone surrogate can only sit inside a string: escape it, as the input had it
    return SURROGATE_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _write_json(out: pd.DataFrame, fh, ids, source: Source | None, lines: bool) -> None:
    absent = source.absent if source is not None else {}
    names = [str(c) for c in out.columns]
    row_ids = list(ids) if ids is not None else [None] * len(out)
    columns = [[_plain(v) for v in out[c].tolist()] for c in out.columns]
    gone = {i: absent[n] for i, n in enumerate(names) if n in absent}
    layout_columns = source is not None and source.json_layout == "columns" and not lines
    if layout_columns:
        body = _dumps(dict(zip(names, columns, strict=True)))
        fh.write((body + "\n").encode("utf-8"))
        return
    originals = source.surrogates if source is not None else {}
    records = []
    for r, rid in enumerate(row_ids):
        rec = {}
        for i, n in enumerate(names):
            if i in gone and rid in gone[i]:
                continue
            rec[n] = originals.get((rid, n), columns[i][r]) if originals else columns[i][r]
        records.append(_dumps(rec))
    if lines:
        fh.write(("\n".join(records) + ("\n" if records else "")).encode("utf-8"))
        return
    body = "[\n" + ",\n".join(records) + "\n]"
    if source is not None and source.json_wrapper is not None:
        parts = [f"{_dumps(k)}: {_dumps(v)}" for k, v in source.json_extra.items()]
        parts.append(f"{_dumps(source.json_wrapper)}: {body}")
        body = "{" + ",\n".join(parts) + "}"
    fh.write((body + "\n").encode("utf-8"))


# ---- Parquet and datasets ----------------------------------------------------------------


def _no_surrogates(out: pd.DataFrame, final: Path) -> None:
    for c in out.columns:
        col = out[c]
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            hit = col.map(lambda v: isinstance(v, str) and SURROGATE_RE.search(v) is not None)
            if hit.any():
                raise DataQAError(
                    "a row holds a lone surrogate (half of an emoji or other character) that "
                    "Parquet's UTF-8 strings cannot store",
                    path=str(final),
                    column=str(c),
                    row=int(np.flatnonzero(hit.to_numpy())[0]),
                    hint="write JSON lines (.jsonl) instead, or let `dataqa clean` repair it",
                )


def _write_parquet(out: pd.DataFrame, tmp: Path, source: Source | None) -> None:
    _no_surrogates(out, tmp)
    out = out.copy()
    for col, cats in (source.categorical if source else {}).items():
        if col in out.columns:
            values = out[col]
            extra = [v for v in pd.unique(values.dropna()) if v not in set(cats)]
            out[col] = pd.Categorical(values, categories=list(cats) + extra)
    import pyarrow as pa

    try:
        out.to_parquet(tmp, index=False)
    except (TypeError, ValueError, pa.ArrowException) as err:  # a column mixes types
        raise DataQAError(
            f"Parquet cannot store these columns as they are ({err})",
            hint="write .jsonl or .csv instead, or make each column one type",
        ) from None


def _write_datasets(out: pd.DataFrame, tmp: Path, source: Source | None) -> None:
    _no_surrogates(out, tmp)
    with quiet_datasets():
        _hf_dataset(out, source).save_to_disk(str(tmp))


def _hf_dataset(out: pd.DataFrame, source: Source | None):
    """A `datasets.Dataset` of `out`, with the input's features given back (a
    `ClassLabel` column holds ids again)."""
    import datasets

    out = out.copy()
    known = datasets.Features.from_dict(source.features) if source and source.features else {}
    features = {}
    for name in out.columns:
        feat = known.get(name) if known else None
        if isinstance(feat, datasets.ClassLabel):
            out[name] = _class_ids(out[name], feat, str(name))
        if feat is not None:
            features[name] = feat
    try:
        ds = datasets.Dataset.from_pandas(out, preserve_index=False)
    except (TypeError, ValueError) as err:  # pyarrow's errors subclass these
        raise DataQAError(
            f"a datasets dataset cannot store these columns as they are ({err})",
            hint="make each column one type, or write .jsonl or .csv instead",
        ) from None
    if features:
        merged = dict(ds.features)
        merged.update(features)
        ds = ds.cast(datasets.Features(merged))
    return ds


def _class_ids(values: pd.Series, feat, column: str) -> list:
    """Label names -> `ClassLabel` ids; a name the feature lacks is the user's to fix."""
    names = set(feat.names)
    out: list[int | None] = []
    for v in values:
        if v is None or v != v:
            out.append(None)
            continue
        if str(v) not in names:
            raise DataQAError(
                f"the label {str(v)!r} is not one of the input's ClassLabel names "
                f"({', '.join(feat.names[:10])}{', ...' if len(feat.names) > 10 else ''})",
                column=column,
                hint="relabel the row to a known class, or write another format (.csv, .jsonl)",
            )
        out.append(feat.str2int(str(v)))
    return out


def to_datasetdict(
    splits: Mapping[str, pd.DataFrame], *, source: Source | None = None, index: bool = True
):
    """Frames as one `datasets.DatasetDict` whose splits share one set of features.

    Parameters
    ----------
    splits : mapping of str to pandas.DataFrame
        Split name -> rows (index = row ids), e.g. `{"train": kept, "quarantine": q,
        "test": test}`. Order is kept.
    source : Source, optional
        How the input was stored (`Dataset.io`): its `datasets` features are given back,
        so a `ClassLabel` column holds ids with the input's names.
    index : bool, default True
        Keep the row ids as a `dataqa_row_id` column.

    Returns
    -------
    datasets.DatasetDict
        Every split has the same columns and features, as `push_to_hub` requires: a
        column a split lacks (`dataqa_reasons` outside the quarantine) is null there, and
        row ids that mix numbers and text across splits are text.

    Raises
    ------
    DataQAError
        No splits, a column mixing types a `datasets` column cannot hold, a label that
        is not one of the input's `ClassLabel` names, or a lone surrogate in the text.
    """
    datasets = require_datasets()

    if not splits:
        raise DataQAError("no splits to write", hint="give at least one split, e.g. train")
    outs = {
        str(name): _with_ids(f) if index else f.reset_index(drop=True) for name, f in splits.items()
    }
    columns = list(dict.fromkeys(c for o in outs.values() for c in o.columns))
    combined = pd.concat(
        [o.reindex(columns=columns) for o in outs.values()], ignore_index=True
    ).astype({c: object for c in columns if any(c not in o.columns for o in outs.values())})
    if ROW_ID in combined.columns:
        kinds = {type(v) for v in combined[ROW_ID] if v is not None and v == v}
        if kinds & {str} and len(kinds) > 1:
            combined[ROW_ID] = combined[ROW_ID].map(str, na_action="ignore")
    for name, o in outs.items():
        _no_surrogates(o, Path(f"<{name} split>"))
    with quiet_datasets():
        whole = _hf_dataset(combined, source)
        out, start = {}, 0
        for name, o in outs.items():
            out[name] = whole.select(range(start, start + len(o)))
            start += len(o)
        return datasets.DatasetDict(out)


def write_datasetdict(
    splits: Mapping[str, pd.DataFrame],
    path: str | os.PathLike,
    *,
    source: Source | None = None,
    index: bool = True,
) -> Path:
    """Write frames as one `datasets.DatasetDict` folder (`save_to_disk`), atomically.

    The folder reads back with `datasets.load_from_disk(path)` and is ready for
    `push_to_hub`; `dataqa` reads its `train` split by default (`--split` picks
    another). See `to_datasetdict` for the parameters and how the splits are typed.

    Returns
    -------
    Path
        The folder.

    Raises
    ------
    DataQAError
        As `to_datasetdict`; or the path is a folder holding anything but a saved
        dataset, or cannot be written.
    """
    path = Path(path)
    write_outputs([(path, datasetdict_writer(splits, source=source, index=index))])
    return path


def datasetdict_writer(
    splits: Mapping[str, pd.DataFrame], *, source: Source | None = None, index: bool = True
) -> Callable[[Path], None]:
    """A `write_outputs` job body that saves the splits as a DatasetDict folder at `tmp`
    (so the folder is one member of a set written together)."""

    def writer(tmp: Path) -> None:
        dd = to_datasetdict(splits, source=source, index=index)
        with quiet_datasets():
            dd.save_to_disk(str(tmp))

    return writer


# ---- atomic files and sets ---------------------------------------------------------------

JOURNAL_GLOB = ".dataqa-commit-*.json"


def write_outputs(jobs: Iterable[tuple[Path, Callable[[Path], None]]]) -> list[Path]:
    """Write several outputs as one set; each job writes its temporary path.

    Parameters
    ----------
    jobs : iterable of (final path, writer)
        `writer(tmp)` writes the content to `tmp` (a file or, for `datasets`, a folder).

    Returns
    -------
    list of Path
        The final paths.

    Raises
    ------
    DataQAError
        A folder cannot be created or written (permissions, a file in the way, a full
        disk), or two outputs share a path. Nothing of the new set is left behind.
    """
    jobs = [(Path(p), w) for p, w in jobs]
    finals = [p for p, _ in jobs]
    dupes = {str(p) for p in finals if finals.count(p) > 1}
    if dupes:
        raise DataQAError(
            f"two outputs would be written to the same path {sorted(dupes)[0]}",
            hint="give each output its own name",
        )
    for folder in {p.parent for p in finals}:
        _prepare_folder(folder)
        recover(folder)
    for final in finals:
        _refuse_special_file(final)
        _refuse_replacing_a_folder(final)
    temps: list[Path] = []
    current: Path | None = None
    try:
        for final, writer in jobs:
            current = final
            _sweep_stale_temps(final)
            tmp = final.parent / f".{final.name}.dataqa-{os.getpid()}-{secrets.token_hex(4)}.tmp"
            temps.append(tmp)
            writer(tmp)
            _fsync(tmp)
        pairs = list(zip(temps, finals, strict=True))
        journal = None
        if len(pairs) > 1:
            journal = finals[0].parent / (
                f".dataqa-commit-{os.getpid()}-{secrets.token_hex(4)}.json"
            )
            _write_small(journal, json.dumps([[str(t), str(f)] for t, f in pairs]))
        _roll_forward(pairs)
        if journal is not None:
            journal.unlink(missing_ok=True)
    except OSError as err:
        _remove(*temps)
        raise _os_error(err, "write", current) from None
    except BaseException:
        _remove(*temps)
        raise
    return finals


DATASETS_FILES = {"dataset_info.json", "state.json", "dataset_dict.json"}


def _refuse_special_file(final: Path) -> None:
    """A device, pipe or socket is never replaced: renaming a new file over `/dev/null` or
    a FIFO (as root, it succeeds) would destroy it instead of writing to it."""
    import stat

    try:
        mode = final.stat().st_mode
    except OSError:
        return  # absent (or a dangling link): a new file goes there
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise DataQAError(
            "the output path is a device, pipe or socket, not a file",
            path=str(final),
            hint="write to a regular file path (dataqa writes a temporary file and renames it "
            "into place, which would replace the device)",
        )


def _refuse_replacing_a_folder(final: Path) -> None:
    """An existing folder is replaced only when it is a `datasets` folder and nothing
    else: `-o results/` must never delete what the user keeps there."""
    if not final.is_dir() or final.is_symlink():
        return
    names = {p.name for p in final.iterdir()}
    if not names:
        return  # an empty folder: nothing to lose
    if "_dataqa_shards.json" in names and all(
        n == "_dataqa_shards.json" or (n.startswith("part-") and n.endswith(".parquet"))
        for n in names
    ):
        return  # sharded Parquet that dataqa wrote (`--engine dask`)
    subs = [p for p in final.iterdir() if p.is_dir()]
    looks_saved = bool(names & DATASETS_FILES) or all(
        {q.name for q in sub.iterdir()} & DATASETS_FILES for sub in subs
    )
    stray = [
        n
        for n in names
        if n not in DATASETS_FILES and not n.endswith(".arrow") and not (final / n).is_dir()
    ]
    if not (looks_saved and not stray):
        raise DataQAError(
            "the output path is an existing folder, and dataqa will not replace a folder that "
            "holds anything but a saved dataset",
            path=str(final),
            hint="give a file name (e.g. OUT/clean.csv), or an empty or new folder name",
        )


def _roll_forward(pairs: list[tuple[Path, Path]]) -> None:
    """Remove every old final whose new file is ready, then move the new files in."""
    trash = []
    for tmp, final in pairs:
        if tmp.exists() and (final.exists() or final.is_symlink()):
            if final.is_dir() and not final.is_symlink():
                old = final.parent / f".{final.name}.dataqa-{os.getpid()}-old.tmp"
                _remove(old)
                os.replace(final, old)
                trash.append(old)
            else:
                final.unlink()
    for tmp, final in pairs:
        if tmp.exists():
            os.replace(tmp, final)
    _remove(*trash)


def recover(folder: Path) -> None:
    """Finish a set that a killed run had started moving into place in `folder`."""
    for journal in sorted(Path(folder).glob(JOURNAL_GLOB)):
        with contextlib.suppress(OSError, ValueError):
            pairs = [(Path(t), Path(f)) for t, f in json.loads(journal.read_text())]
            pid = _pid_of(journal.name)
            if pid is not None and pid != os.getpid() and _alive(pid):
                continue
            _roll_forward(pairs)
            journal.unlink(missing_ok=True)


def _sweep_stale_temps(final: Path) -> None:
    for tmp in final.parent.glob(f".{glob_escape(final.name)}.dataqa-*.tmp"):
        pid = _pid_of(tmp.name)
        if pid is None or not _alive(pid):
            _remove(tmp)


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def _pid_of(name: str) -> int | None:
    m = re.search(r"dataqa-(?:commit-)?(\d+)-", name)
    return int(m.group(1)) if m else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(*paths: Path) -> None:
    for p in paths:
        with contextlib.suppress(OSError):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    if path.is_file():
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _prepare_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _os_error(err, "create the folder") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DataQAError(
            "permission denied: dataqa may not write in this folder",
            path=str(folder),
            hint="choose an output folder you can write to, or change its permissions",
        )


def _os_error(err: OSError, what: str, final: Path | None = None) -> DataQAError:
    """The user's path, never a temporary name (pyarrow's errors carry no filename but
    quote the temporary path in their text: the message keeps only the reason)."""
    reason = err.strerror or str(err)
    if ".dataqa-" in reason and ". Detail: " in reason:
        reason = reason.split(". Detail: ", 1)[1]
    where = err.filename
    if final is not None and (not where or ".dataqa-" in str(where)):
        where = final
    elif where and ".dataqa-" in str(where):
        where = str(where).split("/.")[0]
    return DataQAError(
        f"could not {what}: {reason}",
        path=str(where) if where else None,
        hint="check the path, its permissions and the free disk space",
    )


def _write_small(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write a text file atomically (UTF-8)."""
    path = Path(path)

    def writer(tmp: Path) -> None:
        tmp.write_bytes(SURROGATE_RE.sub("\ufffd", text).encode("utf-8"))

    write_outputs([(path, writer)])
    return path


def _check_writable(path: Path) -> None:
    """Raise when `path` could not be created: its nearest existing ancestor is a file,
    or a folder this process may not write into."""
    folder = path.parent if path.parent != Path("") else Path(".")
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise DataQAError(
            f"cannot write here: {folder} is a file, not a folder",
            path=str(path),
            hint="choose an output path inside a folder",
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DataQAError(
            f"cannot write into {folder}: permission denied",
            path=str(path),
            hint="choose an output folder you can write to, or change its permissions",
        )


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when two paths name one file or folder (links and `..` resolved)."""
    pa, pb = Path(a), Path(b)
    if pa.exists() and pb.exists():
        with contextlib.suppress(OSError):
            return os.path.samefile(pa, pb)
    return pa.resolve() == pb.resolve()


def refuse_overwriting_inputs(
    inputs: Iterable[str | os.PathLike | None],
    outputs: Iterable[str | os.PathLike | None],
    *,
    force: bool = False,
) -> None:
    """Check the outputs before a run: raise unless `force` when an output path is one
    of the inputs, and always when an output cannot be written (an hour's audit must not
    end in "permission denied").

    Raises
    ------
    DataQAError
        An output would replace an input file (the raw data would be lost); an output's
        folder is a file or cannot be written; a compression dataqa cannot write.
    """
    outputs = list(outputs)
    for out in outputs:  # what cannot be written fails now, not after an hour's run
        if out and out != "-":
            _refuse_special_file(Path(out))
            _check_writable(Path(out))
            name = Path(out).name.lower()
            for suffix, kind in COMPRESSIONS.items():
                if name.endswith(suffix) and kind not in OPENERS:
                    raise DataQAError(
                        f"dataqa does not write {kind} files",
                        path=str(out),
                        hint="write .csv, .tsv, .jsonl or .json (optionally .gz, .bz2 or .xz), "
                        ".parquet, or a folder for a datasets dataset",
                    )
    if force:
        return
    ins = [str(p) for p in inputs if p and not str(p).startswith("hub:")]
    for out in outputs:
        if not out:
            continue
        for src in ins:
            if same_file(src, out):
                raise DataQAError(
                    "the output would replace the input file, and the raw data with it",
                    path=str(out),
                    hint="write to another path, or pass --force if you really mean to "
                    "overwrite it",
                )
