"""Readers: every input format into a dataframe, without changing a character.

What the user's file says is what dataqa sees. Delimited files are parsed with Python's
`csv` module in strict mode rather than pandas' lenient C parser, because the lenient
parser silently rewrites malformed quoting (`"hero" is great` becomes `hero is great`);
strict parsing either reads the file exactly or names the line to fix. JSON values keep
their Python types (an int label stays an int, a missing key stays missing), so writing
a record back gives the same JSON value.

Everything the writers need to give the data back the way it came (the encoding, the
TSV quoting convention, `datasets` features such as `ClassLabel`, categorical columns,
keys a JSON record did not have) goes into a `Source` description that travels in
`Dataset.meta["io"]`.
"""

from __future__ import annotations

import bz2
import contextlib
import csv
import gzip
import io
import json
import lzma
import re
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from dataqa.errors import DataQAError

FORMATS = ("csv", "tsv", "jsonl", "json", "parquet", "datasets")
COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd", ".zip": "zip"}
MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"PK\x03\x04", "zip"),
)
BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
OPENERS: dict[str | None, Any] = {None: open, "gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}
"""How to open a file by its compression (zstd and zip are handled apart)."""
csv.field_size_limit(sys.maxsize)  # a 10 MB review is data, not an attack


@dataclass
class Source:
    """How a table was stored, so that it can be written back the same way.

    Attributes
    ----------
    format : str
        One of `FORMATS` (or "hub").
    encoding : str
        The text encoding that decoded the file ("utf-8" when no BOM was present).
    compression : str or None
        "gzip", "bz2", "xz", "zstd" or "zip" when the file was compressed.
    tsv_quoted : bool
        For TSV: True when the file used CSV-style quotes (pandas' `to_csv(sep="\\t")`),
        False for the plain convention with no quoting at all (GLUE, IANA TSV).
    absent : dict
        JSON only: column -> row positions whose record had no such key. A writer
        leaves the key out again instead of writing `null`.
    categorical : dict
        Parquet: column -> its categories when the column was `category` dtype.
    features : dict or None
        `datasets` folder: `Features.to_dict()` of the split read; `ClassLabel`
        columns are read as their names and written back as ids.
    json_layout : str
        JSON: "records" (a list of objects, or JSON lines), "columns" (an object of
        equal-length lists) or "wrapped" (an object holding the list of records).
    json_wrapper : str or None
        JSON "wrapped": the key that held the records; `json_extra` the other keys.
    surrogates : dict
        (row, column) -> the original value of a cell that held lone surrogates (an
        emoji cut in half, legal in JSON only); the frame holds it repaired (U+FFFD).
        Rows are positions while reading and row ids once in a `Dataset`.
    """

    format: str
    encoding: str = "utf-8"
    compression: str | None = None
    tsv_quoted: bool = False
    absent: dict = field(default_factory=dict, repr=False)
    categorical: dict = field(default_factory=dict, repr=False)
    features: dict | None = field(default=None, repr=False)
    json_layout: str = "records"
    json_wrapper: str | None = None
    json_extra: dict = field(default_factory=dict, repr=False)
    surrogates: dict = field(default_factory=dict, repr=False)


def guess_format(path: str) -> str:
    """The format a path names by its extension (compression suffixes skipped).

    A folder is a `datasets.save_to_disk` folder; `hub:NAME` is a hub dataset; `.txt`
    is read as TSV; anything unknown as CSV.
    """
    if path.startswith("hub:"):
        return "hub"
    p = Path(path)
    if p.is_dir():
        return "datasets"
    for suffix in reversed([s.lower() for s in p.suffixes]):
        if suffix in COMPRESSIONS:
            continue
        name = suffix.lstrip(".")
        if name in ("csv", "tsv", "parquet", "jsonl", "json"):
            return name
        if name == "pq":
            return "parquet"
        if name == "ndjson":
            return "jsonl"
        if name == "txt":
            return "tsv"
        break
    return "csv"


def read(
    path: str, *, fmt: str | None = None, encoding: str | None = None, split: str | None = None
) -> tuple[pd.DataFrame, Source]:
    """Read one table and describe how it was stored.

    Parameters
    ----------
    path : str
        A file, a `datasets.save_to_disk` folder, or `hub:NAME` (the one case where
        dataqa touches the network).
    fmt : str, optional
        Force a format from `FORMATS`; default from the extension.
    encoding : str, optional
        Text encoding; default UTF-8, or what a byte-order mark says.
    split : str, optional
        The split of a `datasets` folder or hub dataset (default "train").

    Returns
    -------
    frame : pandas.DataFrame
        Rows in file order; delimited files give strings (an empty cell is missing).
    source : Source
        How the table was stored.

    Raises
    ------
    DataQAError
        Missing, unreadable, empty, binary, undecodable or malformed input, always
        naming the file and, where there is one, the line.
    """
    fmt = fmt or guess_format(path)
    if fmt == "hub":
        return _read_hub(path[4:], split)
    p = Path(path)
    if not p.exists():
        hint = "check the path and the current folder"
        if re.fullmatch(r"[\w.-]+/[\w.-]+", path):
            hint += f"; to read the Hugging Face hub dataset {path!r}, write hub:{path}"
        raise DataQAError("no such file or folder", path=path, hint=hint)
    if p.is_dir():
        return _read_datasets_folder(p, split)
    if fmt not in FORMATS:
        raise DataQAError(
            f"unknown format {fmt!r}", path=path, hint=f"use one of: {', '.join(FORMATS)}"
        )
    try:
        size = p.stat().st_size
        with open(p, "rb") as fh:
            head = fh.read(8192)
    except PermissionError:
        raise DataQAError(
            "permission denied: dataqa may not read this file",
            path=path,
            hint="check its permissions (ls -l), or copy it somewhere you can read",
        ) from None
    if size == 0:
        raise DataQAError(
            "the file is empty (0 bytes)",
            path=path,
            hint="point dataqa at a file with a header row and data rows",
        )
    compression = _compression(p, head)
    if fmt == "parquet":
        if compression:
            raise DataQAError(
                f"a Parquet file inside {compression} cannot be read directly",
                path=path,
                hint="decompress it first (Parquet compresses its own pages)",
            )
        return _read_parquet(p)
    opener = _Opener(p, compression)
    head = opener.head()
    enc = _encoding(head, encoding)
    bom = _encoding(head, None)
    if encoding and bom != "utf-8" and not _same_family(bom, encoding):
        raise DataQAError(
            f"the file starts with a {bom} byte-order mark, but --encoding {encoding} was given",
            path=path,
            hint="drop --encoding (dataqa reads the byte-order mark), or fix the file",
        )
    if b"\x00" in head and not enc.startswith("utf-16") and not enc.startswith("utf-32"):
        guess = _guess_encoding(head)
        if guess and guess.startswith(("utf_16", "utf_32", "utf-16", "utf-32")):
            raise DataQAError(
                f"the file looks like {guess} text without a byte-order mark",
                path=path,
                hint=f"pass --encoding {guess.replace('_', '-')}, or convert it to UTF-8",
            )
        if head.startswith(b"PAR1"):  # Parquet's magic number, under another name
            raise DataQAError(
                f"this is a Parquet file, though its name says {fmt}",
                path=path,
                hint="pass --format parquet (pipeline key format: parquet), or rename it "
                "to .parquet",
            )
        raise DataQAError(
            "this looks like a binary file, not text",
            path=path,
            hint="give a UTF-8 CSV, TSV, JSONL or Parquet file",
        )
    source = Source(format=fmt, encoding=enc, compression=compression)
    try:
        if fmt in ("jsonl", "json"):
            frame = _read_json(opener, enc, fmt, source)
        else:
            frame = _read_delimited(opener, "\t" if fmt == "tsv" else ",", enc, source)
    except UnicodeDecodeError as err:
        raise _decode_error(opener, err, enc) from None
    except UnicodeError as err:  # e.g. --encoding utf-16 on a file without a BOM
        raise DataQAError(
            f"the file cannot be decoded as {enc} ({err})",
            path=path,
            hint="drop --encoding to let dataqa read the byte-order mark, or give the right one",
        ) from None
    except LookupError:
        raise DataQAError(
            f"unknown encoding {encoding!r}",
            path=path,
            hint="use a Python codec name such as utf-8, utf-16 or cp1252",
        ) from None
    return frame, source


# ---- containers and encodings ------------------------------------------------------------


def _compression(path: Path, head: bytes) -> str | None:
    for magic, name in MAGIC:
        if head.startswith(magic):
            return name
    named = COMPRESSIONS.get(path.suffix.lower())
    if named is not None:
        raise DataQAError(
            f"the file is named {path.suffix} but is not {named}-compressed",
            path=str(path),
            hint="check the file is complete, or rename it to what it is",
        )
    return None


class _Opener:
    """Opens the (possibly compressed) file as bytes, as often as a reader needs."""

    def __init__(self, path: Path, compression: str | None) -> None:
        self.path = path
        self.compression = compression

    @contextlib.contextmanager
    def binary(self) -> Iterator[Any]:
        c, p = self.compression, self.path
        if c == "zstd":
            try:
                import zstandard
            except ImportError:
                raise DataQAError(
                    "the file is zstd-compressed and the zstandard package is not installed",
                    path=str(p),
                    hint="pip install zstandard, or decompress it with `zstd -d`",
                ) from None
            fh = zstandard.open(p, "rb")
        elif c == "zip":
            zf = zipfile.ZipFile(p)
            names = [n for n in zf.namelist() if not n.endswith("/")]
            if len(names) != 1:
                raise DataQAError(
                    f"the zip archive holds {len(names)} files ({', '.join(names[:5])})",
                    path=str(p),
                    hint="unzip it and point dataqa at the one file you mean",
                )
            fh = zf.open(names[0])
        else:
            fh = OPENERS[c](p, "rb")
        try:
            yield fh
        except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError) as err:
            if isinstance(err, PermissionError):
                raise
            raise DataQAError(
                f"the {c or ''} file is truncated or corrupt ({err})".replace("  ", " "),
                path=str(p),
                hint="check the download or copy is complete",
            ) from None
        finally:
            fh.close()

    def head(self, n: int = 65536) -> bytes:
        with self.binary() as fh:
            return fh.read(n)

    @contextlib.contextmanager
    def text(self, encoding: str) -> Iterator[io.TextIOWrapper]:
        with self.binary() as fh:
            yield io.TextIOWrapper(fh, encoding=encoding, newline="")


def _encoding(head: bytes, encoding: str | None) -> str:
    if encoding:
        return encoding
    for bom, name in BOMS:
        if head.startswith(bom):
            return name
    return "utf-8"


def _same_family(a: str, b: str) -> bool:
    norm = [x.lower().replace("_", "-").removesuffix("-sig") for x in (a, b)]
    return norm[0].split("-")[:2] == norm[1].split("-")[:2] or norm[0] in norm[1]


def _guess_encoding(data: bytes) -> str | None:
    """charset-normalizer's best guess for bytes that are not UTF-8, or None."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - a dependency of ours
        return None
    matches = from_bytes(data)
    names = [m.encoding for m in matches]
    # Windows-1252 is by far the most common legacy encoding of Western text, and for
    # short samples charset-normalizer often ranks a Central European code page above
    # it (cp1250 reads "crème" as "crčme"): prefer it when it decodes the bytes too
    if "cp1252" in names and (not names or names[0] in ("cp1250", "cp1257", "iso8859_2")):
        return "cp1252"
    best = matches.best()
    return best.encoding if best is not None else None


def _decode_error(opener: _Opener, err: UnicodeDecodeError, encoding: str) -> DataQAError:
    """Name the line that does not decode, and suggest the encoding it probably is."""
    line, data = None, b""
    with contextlib.suppress(OSError, DataQAError):
        with opener.binary() as fh:
            data = fh.read(64 * 1024 * 1024)
        bad = err.object[err.start : err.end] if err.object else b""
        pos = data.find(bad) if bad else -1
        if pos >= 0:
            line = data[:pos].count(b"\n") + 1
    where = f" at line {line}" if line else ""
    byte = f" (byte 0x{err.object[err.start]:02x})" if err.object else ""
    guess = _guess_encoding(data[: 1 << 20]) if data else None
    name = encoding.removesuffix("-sig").upper()
    common = ["cp1252", "latin-1"]
    guess = guess.replace("_", "-").lower() if guess else None
    if guess and guess not in ("utf-8", "ascii"):
        options = [f"--encoding {guess} (charset-normalizer's guess)"] + [
            f"--encoding {c}" for c in common if c != guess
        ]
    else:
        options = [f"--encoding {c}" for c in common]
    hint = (
        "convert it to UTF-8, or pass the encoding it was saved in, e.g. "
        + ", ".join(options[:-1])
        + " or "
        + options[-1]
    )
    return DataQAError(
        f"the file is not valid {name}{where}{byte}", path=str(opener.path), hint=hint
    )


# ---- delimited text ----------------------------------------------------------------------

_QUOTED_TSV_EVIDENCE = re.compile(
    r'(?:^|\t)"(?:[^"]|"")*(?:""|[\t\r\n])(?:[^"]|"")*"(?=\t|\r?\n|$)', re.MULTILINE
)
"""A quoted TSV field that could not be written without quotes."""


def _read_delimited(opener: _Opener, sep: str, encoding: str, source: Source) -> pd.DataFrame:
    """CSV (RFC 4180 quoting) or TSV (quoted as pandas writes it, or plain).

    A TSV is read with quotes only when a field starts with `"` and the whole file
    parses strictly that way; the plain convention (GLUE, IANA) has no quoting and
    a `"` is just a character there.
    """
    quoted = sep == ","
    if sep == "\t":
        # quotes are syntax only when the file needs them: a quoted field that holds a
        # tab, a line break or a doubled quote (what pandas writes); otherwise a `"` is
        # a character of the text, as in GLUE's plain TSVs
        with opener.text(encoding) as fh:
            quoted = _QUOTED_TSV_EVIDENCE.search(fh.read()) is not None
        if quoted:
            try:
                rows = _parse(opener, sep, encoding, quoted=True)
                quoted = rows[0] is not None and all(len(v) == len(rows[0]) for v in rows[2])
            except _Malformed:
                quoted = False
    if sep == "," or not quoted:
        try:
            rows = _parse(opener, sep, encoding, quoted=quoted)
        except _Malformed as err:
            raise DataQAError(
                f"line {err.line}: {err.reason}",
                path=str(opener.path),
                hint=(
                    "a quoted field must end with a quote followed by the delimiter or the "
                    'end of the line, and a quote inside it is written twice ("")'
                ),
            ) from None
    source.tsv_quoted = sep == "\t" and quoted
    header, lines, body = rows
    if header is None:
        raise DataQAError(
            "the file has no header and no rows",
            path=str(opener.path),
            hint="the first line must name the columns",
        )
    if not any(h.strip() for h in header):
        raise DataQAError(
            "the header row is empty",
            path=str(opener.path),
            hint="the first line must name the columns",
        )
    if not body:
        raise DataQAError(
            "the file has a header but no data rows",
            path=str(opener.path),
            hint="add rows, or check you picked the right file",
        )
    width = len(header)
    for values, line in zip(body, lines, strict=True):
        if len(values) > width:
            raise DataQAError(
                f"line {line} has {len(values)} fields where the header has {width}",
                path=str(opener.path),
                hint="quote fields that contain the delimiter, or fix that line",
            )
    frame = pd.DataFrame(
        [v + [None] * (width - len(v)) if len(v) < width else v for v in body],
        columns=header,
        dtype=object,
    )
    frame = frame.mask(frame == "", None)  # an empty cell is a missing value, as in pandas
    return frame.astype("str") if len(frame.columns) else frame


class _Malformed(Exception):
    def __init__(self, line: int, reason: str) -> None:
        self.line, self.reason = line, reason


def _parse(opener: _Opener, sep: str, encoding: str, *, quoted: bool):
    """(header, line number of each row, rows); blank lines are skipped as pandas does."""
    header, lines, body = None, [], []
    with opener.text(encoding) as fh:
        reader = csv.reader(
            fh,
            delimiter=sep,
            quotechar='"',
            doublequote=True,
            strict=True,
            quoting=csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE,
        )
        try:
            for values in reader:
                if not values or (len(values) == 1 and values[0] == ""):
                    continue
                if header is None:
                    header = values
                    continue
                body.append(values)
                lines.append(reader.line_num)
        except csv.Error as err:
            raise _Malformed(reader.line_num, str(err)) from None
    return header, lines, body


# ---- JSON --------------------------------------------------------------------------------


def _read_json(opener: _Opener, encoding: str, fmt: str, source: Source) -> pd.DataFrame:
    with opener.text(encoding) as fh:
        data = fh.read()
    path = str(opener.path)
    stripped = data.lstrip()
    records = None
    if fmt == "json" or stripped.startswith("["):
        try:
            obj = json.loads(data)
        except json.JSONDecodeError as err:
            if not (fmt == "json" and err.msg == "Extra data"):  # else: JSON lines in .json
                raise DataQAError(
                    f"invalid JSON at line {err.lineno}, column {err.colno} ({err.msg})",
                    path=path,
                    hint="fix the file, or save it as JSON lines (.jsonl)",
                ) from None
        else:
            records = _records_of(obj, path, source)
    if records is None:
        records = []
        for lineno, line in enumerate(data.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataQAError(
                    f"line {lineno} is not valid JSON ({err.msg}, column {err.colno})",
                    path=path,
                    hint="fix or remove that line",
                ) from None
            if not isinstance(obj, dict):
                raise DataQAError(
                    f"line {lineno} is a JSON {type(obj).__name__}, not an object",
                    path=path,
                    hint='each line must be an object like {"text": ..., "label": ...}',
                )
            records.append(obj)
    if not records:
        raise DataQAError(
            "the file holds no records",
            path=path,
            hint="add rows, or check you picked the right file",
        )
    return records_frame(records, source)


def _records_of(obj, path: str, source: Source) -> list[dict]:
    """The list of records in a parsed JSON document: a list of objects, an object of
    equal-length columns, or an object wrapping one list of objects ({"data": [...]})."""
    if isinstance(obj, list):
        bad = next((i for i, r in enumerate(obj) if not isinstance(r, dict)), None)
        if bad is not None:
            raise DataQAError(
                f"record {bad} is a JSON {type(obj[bad]).__name__}, not an object",
                path=path,
                hint='the file must hold a list of objects like {"text": ..., "label": ...}',
            )
        return obj
    if isinstance(obj, dict):
        lists = {k: v for k, v in obj.items() if isinstance(v, list)}
        if lists and len(lists) == len(obj) and len({len(v) for v in lists.values()}) == 1:
            source.json_layout = "columns"
            keys = list(lists)
            n = len(lists[keys[0]])
            return [{k: lists[k][i] for k in keys} for i in range(n)]
        wrapped = [k for k, v in lists.items() if v and all(isinstance(r, dict) for r in v)]
        if len(wrapped) == 1:
            source.json_layout = "wrapped"
            source.json_wrapper = wrapped[0]
            source.json_extra = {k: v for k, v in obj.items() if k != wrapped[0]}
            return lists[wrapped[0]]
        raise DataQAError(
            f"the top-level JSON object has the keys {list(obj)[:8]} and none of them is "
            "the list of records",
            path=path,
            hint="give a list of objects, an object of equal-length columns, or JSON lines",
        )
    raise DataQAError(
        f"the file holds a single JSON {type(obj).__name__}, not records",
        path=path,
        hint="give a list of objects or JSON lines",
    )


_ABSENT = object()


def records_frame(records: list[dict], source: Source | None = None) -> pd.DataFrame:
    """Records to a frame of object columns that keep each JSON value as it was parsed.

    Keys a record lacks are recorded in `source.absent` (column -> row positions) so
    that a writer leaves them out again rather than writing `null`.
    """
    keys = list(dict.fromkeys(k for r in records for k in r))
    columns = {}
    for k in keys:
        values = [r.get(k, _ABSENT) for r in records]
        missing = [i for i, v in enumerate(values) if v is _ABSENT]
        if missing:
            if source is not None:
                source.absent[k] = missing
            values = [None if v is _ABSENT else v for v in values]
        columns[k] = pd.Series(values, dtype=object)
    return pd.DataFrame(columns)


# ---- Parquet, datasets, hub --------------------------------------------------------------


def _read_parquet(path: Path) -> tuple[pd.DataFrame, Source]:
    try:
        frame = pd.read_parquet(path)
    except PermissionError:
        raise
    except Exception as err:  # pyarrow raises several unrelated types for a bad file
        raise DataQAError(
            f"not a readable Parquet file ({type(err).__name__}: {err})",
            path=str(path),
            hint="check the file is complete and really Parquet",
        ) from None
    if frame.empty:
        raise DataQAError("the file has no rows", path=str(path), hint="add rows")
    return frame, Source(format="parquet")


def require_datasets():
    """The `datasets` module, imported on first need (it is heavy).

    Raises
    ------
    DataQAError
        It is not installed: the message names the extra that installs it.
    """
    try:
        import datasets
    except ImportError:
        raise DataQAError(
            "reading or writing a Hugging Face `datasets` folder needs the datasets package",
            hint="install it with pip install 'dataqa-finetune[hf]' (or pip install datasets)",
        ) from None
    return datasets


@contextlib.contextmanager
def quiet_datasets():
    """`datasets` without its progress bars (they are not ours to show), restored after."""
    datasets = require_datasets()

    was = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if was:
            datasets.enable_progress_bars()


def _pick_split(obj, split: str | None, where: str):
    """The split to read from a DatasetDict (`split`, else "train", else the only one);
    a single Dataset has no splits to pick from."""
    import datasets

    if isinstance(obj, datasets.DatasetDict | datasets.IterableDatasetDict):
        names = list(obj.keys())
        chosen = split or ("train" if "train" in names else names[0] if len(names) == 1 else None)
        if chosen is None or chosen not in names:
            raise DataQAError(
                f"it holds the splits {names}"
                + (f", not {split!r}" if split and split not in names else ""),
                path=where,
                hint="pick one with --split NAME",
            )
        return obj[chosen]
    if split is not None and split != "train":
        raise DataQAError(
            f"it holds one dataset without splits, so --split {split} names nothing",
            path=where,
            hint="drop --split",
        )
    return obj


def _read_datasets_folder(path: Path, split: str | None) -> tuple[pd.DataFrame, Source]:
    markers = ("dataset_info.json", "state.json", "dataset_dict.json")
    if not any((path / m).exists() for m in markers) and not any(
        (sub / m).exists() for sub in path.iterdir() if sub.is_dir() for m in markers
    ):
        raise DataQAError(
            "this folder is not a dataset saved with datasets' save_to_disk",
            path=str(path),
            hint="give a file, or a folder written by save_to_disk",
        )
    datasets = require_datasets()

    try:
        with quiet_datasets():
            obj = datasets.load_from_disk(str(path))
    except Exception as err:  # datasets raises many types for a damaged folder
        raise DataQAError(
            f"datasets could not load this folder ({type(err).__name__}: {err})",
            path=str(path),
            hint="check the folder is complete; re-save it with save_to_disk",
        ) from None
    return _from_hf(_pick_split(obj, split, str(path)), "datasets")


def _from_hf(ds, fmt: str) -> tuple[pd.DataFrame, Source]:
    """A `datasets.Dataset` as a frame, with `ClassLabel` ids mapped to their names."""
    import datasets

    frame = ds.to_pandas()
    source = Source(format=fmt, features=ds.features.to_dict())
    names = {n: f.names for n, f in ds.features.items() if isinstance(f, datasets.ClassLabel)}
    return class_label_names(frame, names), source


def class_label_names(frame: pd.DataFrame, class_labels: dict[str, list[str]]) -> pd.DataFrame:
    """`frame` with each `ClassLabel` column's ids (column -> the label names) replaced by
    the names; a missing or negative id (datasets' "no label") becomes None."""
    for name, names in class_labels.items():
        col = frame[name]
        frame[name] = pd.Series(
            [names[int(v)] if v is not None and v == v and int(v) >= 0 else None for v in col],
            index=frame.index,
            dtype=object,
        )
    return frame


def _read_hub(name: str, split: str | None) -> tuple[pd.DataFrame, Source]:
    datasets = require_datasets()

    try:
        obj = datasets.load_dataset(name)
    except Exception as err:  # network, auth, missing dataset: all one message for the user
        raise DataQAError(
            f"could not load hub dataset {name!r} ({type(err).__name__})",
            path=f"hub:{name}",
            hint="check the name and your network access",
        ) from None
    return _from_hf(_pick_split(obj, split, f"hub:{name}"), "hub")


def read_table(
    path: str, *, fmt: str | None = None, encoding: str | None = None, split: str | None = None
) -> pd.DataFrame:
    """`read` without the `Source`: just the frame."""
    return read(path, fmt=fmt, encoding=encoding, split=split)[0]


def read_json_file(path, what: str, hint: str):
    """Parse a JSON file the user named; a missing or unparsable file is a DataQAError."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataQAError(f"no such {what} file", path=str(path)) from None
    except PermissionError:
        raise DataQAError(
            f"permission denied reading the {what} file", path=str(path), hint="check permissions"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataQAError(f"not a JSON {what} ({err})", path=str(path), hint=hint) from None
