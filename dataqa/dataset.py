"""The one data model every stage shares: a dataframe plus the roles of its columns.

Row ids are the index of `Dataset.frame` and never change from load to report: the
`--id-col` values when the user names one, else the row's 0-based position among the
data rows of the input file (header excluded). Files that dataqa writes carry those ids
in a `dataqa_row_id` column, so a cleaned or augmented file still points back at the raw
rows when it is loaded again.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from dataqa.errors import DataQAError

ROW_ID = "dataqa_row_id"
"""Column that carries row ids in every file dataqa writes."""

TEXT_NAMES = (
    "text",
    "sentence",
    "content",
    "review",
    "query",
    "utterance",
    "document",
    "question",
    "prompt",
    "input",
    "body",
    "comment",
    "message",
)
LABEL_NAMES = (
    "label",
    "labels",
    "category",
    "class",
    "intent",
    "target",
    "sentiment",
    "y",
    "gold",
    "tag",
)
ID_NAMES = (ROW_ID, "id", "row_id", "uid", "guid", "idx", "example_id")
GROUP_NAMES = ("group", "brand", "source", "domain", "author", "vendor")
FORMATS = ("csv", "tsv", "jsonl", "json", "parquet", "datasets")


@dataclass(frozen=True)
class Roles:
    """Which column plays which part. Only `text` is required."""

    text: str
    label: str | None = None
    id: str | None = None
    group: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"text": self.text, "label": self.label, "id": self.id, "group": self.group}


@dataclass
class Dataset:
    """A dataframe indexed by stable row ids, plus column roles and where it came from."""

    frame: pd.DataFrame
    roles: Roles
    source: str = "<memory>"
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def ids(self) -> pd.Index:
        return self.frame.index

    @property
    def text(self) -> pd.Series:
        """Text as strings; missing text becomes the empty string (it is reported, not hidden)."""
        col = self.frame[self.roles.text]
        return col.where(col.notna(), "").astype(str)

    @property
    def labels(self) -> pd.Series | None:
        """Labels as strings, so 1 and "1" are one class; missing stays NaN."""
        if self.roles.label is None:
            return None
        col = self.frame[self.roles.label]
        out = col.astype(object).where(col.notna(), None)
        return out.map(_label_str, na_action="ignore")

    @property
    def groups(self) -> pd.Series | None:
        if self.roles.group is None:
            return None
        col = self.frame[self.roles.group]
        return col.astype(object).where(col.notna(), None).map(str, na_action="ignore")

    def with_frame(self, frame: pd.DataFrame, **meta) -> Dataset:
        return replace(self, frame=frame, meta={**self.meta, **meta})

    def subset(self, ids) -> Dataset:
        return self.with_frame(self.frame.loc[ids])


def _label_str(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def from_frame(
    frame: pd.DataFrame,
    *,
    text_col: str | None = None,
    label_col: str | None = None,
    id_col: str | None = None,
    group_col: str | None = None,
    source: str = "<memory>",
) -> Dataset:
    """Wrap a dataframe a user already has (the notebook path)."""
    if len(frame.columns) == 0:
        raise DataQAError(
            "the table has no columns",
            path=source,
            hint="check the delimiter and that the file has a header row",
        )
    repeated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
    if repeated:
        raise DataQAError(
            f"column name(s) {', '.join(map(repr, repeated))} appear more than once",
            path=source,
            hint="rename or drop the repeated columns so each name is unique",
        )
    roles = infer_roles(
        frame,
        text_col=text_col,
        label_col=label_col,
        id_col=id_col,
        group_col=group_col,
        source=source,
    )
    frame = frame.copy()
    if roles.id is not None:
        ids = frame[roles.id]
        if roles.id == ROW_ID:  # ids dataqa wrote: positions come back as ints from text formats
            ids = ids.map(lambda v: int(v) if isinstance(v, str) and v.isdigit() else v)
        _check_unique_ids(ids, roles.id, source)
        frame.index = pd.Index(ids.tolist(), name=ROW_ID)
    else:
        frame.index = pd.RangeIndex(len(frame), name=ROW_ID)
    _check_text_column(frame, roles.text, source)
    return Dataset(frame=frame, roles=roles, source=source)


def load(
    path: str | os.PathLike,
    *,
    text_col: str | None = None,
    label_col: str | None = None,
    id_col: str | None = None,
    group_col: str | None = None,
    fmt: str | None = None,
    encoding: str | None = None,
    split: str | None = None,
) -> Dataset:
    """Read CSV, TSV, JSONL, Parquet or a `datasets` folder into a Dataset.

    A Hugging Face hub dataset is read only when the user writes `hub:NAME`: that is the
    one case where dataqa touches the network.
    """
    spath = str(path)
    frame = read_table(spath, fmt=fmt, encoding=encoding, split=split)
    ds = from_frame(
        frame,
        text_col=text_col,
        label_col=label_col,
        id_col=id_col,
        group_col=group_col,
        source=spath,
    )
    ds.meta["format"] = fmt or guess_format(spath)
    return ds


def guess_format(path: str) -> str:
    if path.startswith("hub:"):
        return "hub"
    p = Path(path)
    if p.is_dir():
        return "datasets"
    suffixes = [s.lower() for s in p.suffixes]
    for suffix in reversed(suffixes):
        name = suffix.lstrip(".")
        if name in ("csv", "tsv", "parquet", "jsonl", "json"):
            return name
        if name in ("pq",):
            return "parquet"
        if name in ("ndjson",):
            return "jsonl"
        if name == "txt":
            return "tsv"
    return "csv"


def read_table(
    path: str, *, fmt: str | None = None, encoding: str | None = None, split: str | None = None
) -> pd.DataFrame:
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
    if p.stat().st_size == 0:
        raise DataQAError(
            "the file is empty (0 bytes)",
            path=path,
            hint="point dataqa at a file with a header row and data rows",
        )
    with open(p, "rb") as fh:
        head = fh.read(8192)
    if fmt == "parquet":
        return _read_parquet(p)
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataQAError(
            "this looks like a binary file, not text",
            path=path,
            hint="give a UTF-8 CSV, TSV, JSONL or Parquet file",
        )
    if fmt in ("jsonl", "json"):
        return _read_json(p, encoding, lines=fmt == "jsonl" or not head.lstrip().startswith(b"["))
    return _read_delimited(p, "\t" if fmt == "tsv" else ",", encoding)


def _decode_error(path: Path, err: UnicodeDecodeError, encoding: str) -> DataQAError:
    line = None
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        start = data.find(err.object[max(err.start - 20, 0) : err.start + 1]) if err.object else -1
        offset = start + min(err.start, 20) if start >= 0 else err.start
        line = data[:offset].count(b"\n") + 1
    except OSError:
        pass
    where = f" at line {line}" if line else ""
    return DataQAError(
        f"the file is not valid {encoding}{where} (byte 0x{err.object[err.start]:02x})",
        path=str(path),
        hint="convert it to UTF-8, or pass --encoding latin-1 (or cp1252) if that is what it is",
    )


def _read_delimited(path: Path, sep: str, encoding: str | None) -> pd.DataFrame:
    enc = encoding or "utf-8-sig"
    try:
        frame = pd.read_csv(
            path,
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            encoding=enc,
            quoting=3 if sep == "\t" else 0,
        )
    except UnicodeDecodeError as err:
        raise _decode_error(path, err, encoding or "UTF-8") from None
    except pd.errors.EmptyDataError:
        raise DataQAError(
            "the file has no header and no rows",
            path=str(path),
            hint="the first line must name the columns",
        ) from None
    except pd.errors.ParserError as err:
        msg = str(err)
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
        if m:
            raise DataQAError(
                f"line {m.group(2)} has {m.group(3)} fields where the header has {m.group(1)}",
                path=str(path),
                hint="quote fields that contain the delimiter, or fix that line",
            ) from None
        raise DataQAError(
            f"the file could not be parsed ({msg.strip()})",
            path=str(path),
            hint="check the delimiter and quoting",
        ) from None
    except LookupError:
        raise DataQAError(
            f"unknown encoding {encoding!r}",
            path=str(path),
            hint="use a Python codec name such as utf-8 or latin-1",
        ) from None
    if frame.empty:
        raise DataQAError(
            "the file has a header but no data rows",
            path=str(path),
            hint="add rows, or check you picked the right file",
        )
    unnamed = [c for c in frame.columns if str(c).startswith("Unnamed:")]
    if unnamed and len(unnamed) == len(frame.columns):
        raise DataQAError(
            "the header row is empty", path=str(path), hint="the first line must name the columns"
        )
    return frame


def _read_json(path: Path, encoding: str | None, lines: bool) -> pd.DataFrame:
    enc = encoding or "utf-8-sig"
    rows = []
    try:
        with open(path, encoding=enc) as fh:
            if not lines:
                data = json.load(fh)
                if not isinstance(data, list):
                    raise DataQAError(
                        "a .json file must hold a list of records",
                        path=str(path),
                        hint="or write one JSON object per line (.jsonl)",
                    )
                rows = data
            else:
                for lineno, line in enumerate(fh, start=1):
                    if not line.strip():
                        continue
                    try:
                        obj = json.loads(line)
                    except json.JSONDecodeError as err:
                        raise DataQAError(
                            f"line {lineno} is not valid JSON ({err.msg})",
                            path=str(path),
                            hint="fix or remove that line",
                        ) from None
                    if not isinstance(obj, dict):
                        raise DataQAError(
                            f"line {lineno} is not a JSON object",
                            path=str(path),
                            hint='each line must be an object like {"text": ...}',
                        )
                    rows.append(obj)
    except UnicodeDecodeError as err:
        raise _decode_error(path, err, encoding or "UTF-8") from None
    except json.JSONDecodeError as err:
        raise DataQAError(
            f"invalid JSON at line {err.lineno} ({err.msg})",
            path=str(path),
            hint="fix the file, or save it as JSON lines",
        ) from None
    if not rows:
        raise DataQAError(
            "the file holds no records",
            path=str(path),
            hint="add rows, or check you picked the right file",
        )
    return pd.DataFrame.from_records(rows)


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except Exception as err:  # pyarrow raises several unrelated types for a bad file
        raise DataQAError(
            f"not a readable Parquet file ({type(err).__name__}: {err})",
            path=str(path),
            hint="check the file is complete and really Parquet",
        ) from None
    if frame.empty:
        raise DataQAError("the file has no rows", path=str(path), hint="add rows")
    return frame


def _pick_split(obj, split: str | None, where: str):
    if hasattr(obj, "keys") and not hasattr(obj, "column_names"):
        names = list(obj.keys())
        chosen = split or ("train" if "train" in names else names[0] if len(names) == 1 else None)
        if chosen is None or chosen not in names:
            raise DataQAError(
                f"it holds the splits {names}", path=where, hint="pick one with --split NAME"
            )
        return obj[chosen]
    return obj


def _read_datasets_folder(path: Path, split: str | None) -> pd.DataFrame:
    markers = ("dataset_info.json", "state.json", "dataset_dict.json")
    if not any((path / m).exists() for m in markers) and not any(
        (sub / m).exists() for sub in path.iterdir() if sub.is_dir() for m in markers
    ):
        raise DataQAError(
            "this folder is not a dataset saved with datasets' save_to_disk",
            path=str(path),
            hint="give a file, or a folder written by save_to_disk",
        )
    import datasets  # heavy: only when a folder is read

    obj = datasets.load_from_disk(str(path))
    return _pick_split(obj, split, str(path)).to_pandas()


def _read_hub(name: str, split: str | None) -> pd.DataFrame:
    import datasets

    try:
        obj = datasets.load_dataset(name)
    except Exception as err:  # network, auth, missing dataset: all one message for the user
        raise DataQAError(
            f"could not load hub dataset {name!r} ({type(err).__name__})",
            path=f"hub:{name}",
            hint="check the name and your network access",
        ) from None
    return _pick_split(obj, split, f"hub:{name}").to_pandas()


def _closest(name: str, columns) -> str:
    match = difflib.get_close_matches(name, [str(c) for c in columns], n=1, cutoff=0.5)
    return f"; did you mean {match[0]!r}?" if match else ""


def _require(frame: pd.DataFrame, name: str, flag: str, source: str) -> str:
    if name not in frame.columns:
        cols = ", ".join(repr(str(c)) for c in frame.columns)
        raise DataQAError(
            f"there is no column {name!r} (columns: {cols}){_closest(name, frame.columns)}",
            path=source,
            column=name,
            hint=f"pass the right name with {flag}",
        )
    return name


def _find(frame: pd.DataFrame, names, exclude=()) -> str | None:
    lower = {str(c).lower(): c for c in frame.columns if c not in exclude}
    for n in names:
        if n in lower:
            return lower[n]
    return None


def infer_roles(
    frame, *, text_col=None, label_col=None, id_col=None, group_col=None, source="<memory>"
) -> Roles:
    """Pick columns by name, else by content; an explicit choice always wins."""
    given = {"text": text_col, "label": label_col, "id": id_col, "group": group_col}
    flags = {"text": "--text-col", "label": "--label-col", "id": "--id-col", "group": "--group-col"}
    for role, name in given.items():
        if name is not None:
            _require(frame, name, flags[role], source)
    taken = {n for n in given.values() if n}
    text = text_col or _find(frame, TEXT_NAMES, taken)
    if text is None:
        text = _longest_text_column(frame, taken)
    if text is None:
        cols = ", ".join(repr(str(c)) for c in frame.columns)
        raise DataQAError(
            f"no text column found (columns: {cols})", path=source, hint="name it with --text-col"
        )
    taken.add(text)
    label = label_col or _find(frame, LABEL_NAMES, taken)
    if label:
        taken.add(label)
    ident = id_col or _find(frame, ID_NAMES, taken)
    if ident is not None and id_col is None and frame[ident].duplicated().any():
        ident = None  # an inferred id column that is not unique is just data
    if ident:
        taken.add(ident)
    group = group_col or _find(frame, GROUP_NAMES, taken)
    return Roles(text=text, label=label, id=ident, group=group)


def _longest_text_column(frame: pd.DataFrame, taken) -> str | None:
    best, best_len = None, 0.0
    for c in frame.columns:
        if c in taken:
            continue
        col = frame[c]
        if col.dtype != object and not pd.api.types.is_string_dtype(col):
            continue
        sample = col.dropna().astype(str).head(1000)
        if sample.empty or pd.to_numeric(sample, errors="coerce").notna().mean() > 0.9:
            continue
        mean_len = sample.str.len().mean()
        if mean_len > best_len:
            best, best_len = c, mean_len
    return best


def _check_unique_ids(col: pd.Series, name: str, source: str) -> None:
    if col.isna().any():
        pos = int(col.isna().to_numpy().nonzero()[0][0])
        raise DataQAError(
            "the id column has an empty value",
            path=source,
            row=pos,
            column=name,
            hint="fill every id, or drop --id-col to use row positions as ids",
        )
    dup = col[col.duplicated(keep=False)]
    if not dup.empty:
        first = dup.iloc[0]
        rows = [int(i) for i in (col == first).to_numpy().nonzero()[0][:5]]
        raise DataQAError(
            f"ids must be unique, but {dup.nunique()} ids repeat; e.g. {first!r} is on rows {rows}",
            path=source,
            column=name,
            hint="make the ids unique, or drop --id-col to use row positions as ids",
        )


def _check_text_column(frame: pd.DataFrame, text: str, source: str) -> None:
    col = frame[text]
    present = col.dropna()
    if present.empty:
        raise DataQAError(
            "the text column is empty in every row",
            path=source,
            column=text,
            hint="pick the right column with --text-col",
        )
    if pd.api.types.is_numeric_dtype(col) or (
        pd.to_numeric(present.astype(str).head(5000), errors="coerce").notna().all()
    ):
        raise DataQAError(
            "the text column holds numbers, not text",
            path=source,
            column=text,
            hint="pick the column with the text in it with --text-col",
        )


def write_table(frame: pd.DataFrame, path: str | os.PathLike, *, index: bool = True) -> Path:
    """Write atomically (temporary file in the same folder, then rename).

    With `index=True` the row ids go out as the `dataqa_row_id` column.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = frame.copy()
    if index:
        if ROW_ID in out.columns:
            out = out.drop(columns=[ROW_ID])
        ids = out.index
        if ids.inferred_type in (
            "mixed",
            "mixed-integer",
        ):  # e.g. raw ints + "aug-3": text for typed formats
            ids = ids.map(str)
        out.insert(0, ROW_ID, ids)
    out = out.reset_index(drop=True)
    fmt = guess_format(str(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        if fmt == "parquet":
            out.to_parquet(tmp, index=False)
        elif fmt in ("jsonl", "json"):
            out.to_json(tmp, orient="records", lines=fmt == "jsonl", force_ascii=False)
        else:
            out.to_csv(
                tmp,
                sep="\t" if fmt == "tsv" else ",",
                index=False,
                quoting=3 if fmt == "tsv" else 0,
                escapechar="\\" if fmt == "tsv" else None,
            )
        _default_mode(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_json_file(path: str | os.PathLike, what: str, hint: str):
    """Parse a JSON file the user named; a missing or unparsable file is a DataQAError."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataQAError(f"no such {what} file", path=str(path)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataQAError(f"not a JSON {what} ({err})", path=str(path), hint=hint) from None


def _default_mode(path: str) -> None:
    """mkstemp makes 0600 files; give outputs the mode a plain open() would (umask applies)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        _default_mode(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
