"""The one data model every stage shares: a dataframe plus the roles of its columns.

Row ids are the index of `Dataset.frame` and never change from load to report: the
`--id-col` values when the user names one, else the row's 0-based position among the
data rows of the input file (header excluded). Files that dataqa writes carry those ids
in a `dataqa_row_id` column, so a cleaned or augmented file still points back at the raw
rows when it is loaded again.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from dataqa.errors import DataQAError
from dataqa.io import (  # noqa: F401  (re-exported: the dataset API in one place)
    FORMATS,
    ROW_ID,
    atomic_write_text,
    guess_format,
    read,
    read_json_file,
    read_table,
    write_table,
)
from dataqa.io.readers import Source
from dataqa.io.writers import SURROGATE_RE, recover

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


@dataclass(frozen=True)
class Roles:
    """Which column plays which part. Only `text` is required.

    `schema` says what a row is: `text` (a text and a label, for classification) or a
    record a language model is fine-tuned on (`chat`, `sharegpt`, `alpaca`,
    `completion`, `preference`; see `dataqa.chat.formats`), whose main field is `text`.
    """

    text: str
    label: str | None = None
    id: str | None = None
    group: str | None = None
    schema: str = "text"

    def as_dict(self) -> dict[str, str | None]:
        out = {"text": self.text, "label": self.label, "id": self.id, "group": self.group}
        if self.schema != "text":
            out["schema"] = self.schema
        return out


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
        """Text as strings; missing text becomes the empty string (it is reported, not hidden).

        For conversation data, each record rendered as `role: content` lines, so that the
        generic checks (language, PII, duplicates over whole conversations) read it.
        """
        if self.roles.schema != "text":
            key = ("rendered", id(self.frame), len(self.frame))
            cached = self.meta.get("_rendered")
            if cached is None or cached[0] != key:
                from dataqa.chat import render_record

                rendered = pd.Series(
                    [render_record(r, self.roles.schema) for r in self.records],
                    index=self.frame.index,
                    dtype=str,
                )
                self.meta["_rendered"] = cached = (key, rendered)
            return cached[1]
        col = self.frame[self.roles.text]
        return col.where(col.notna(), "").astype(str)

    @property
    def records(self) -> pd.Series:
        """Conversation data: each row's canonical turns (`dataqa.chat.conversations`),
        computed once per frame."""
        from dataqa.chat import conversations

        key = ("records", id(self.frame), len(self.frame))
        cached = self.meta.get("_records")
        if cached is None or cached[0] != key:
            cached = self.meta["_records"] = (key, conversations(self.frame, self.roles.schema))
        return cached[1]

    @property
    def io(self) -> Source:
        """How the input was stored (`dataqa.io.Source`), for writing it back the same way."""
        return self.meta.setdefault("io", Source(format="memory"))

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


def label_like(column: pd.Series, label: str):
    """`label` (a string, as checks see labels) as a value of `column`'s own type.

    A relabel must not turn the int 1 of a JSON or Parquet label column into the
    string "1": the existing value that reads the same is returned when there is one.
    """
    for value in pd.unique(column.dropna()):
        if _label_str(value) == label:
            return value.item() if hasattr(value, "item") else value
    return label


def from_frame(
    frame: pd.DataFrame,
    *,
    text_col: str | None = None,
    label_col: str | None = None,
    id_col: str | None = None,
    group_col: str | None = None,
    source: str = "<memory>",
    stored: Source | None = None,
    schema: str | None = None,
) -> Dataset:
    """Wrap a dataframe a user already has (the notebook path).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per example; not modified.
    text_col, label_col, id_col, group_col : str, optional
        Column roles; guessed from names and content when not given.
    source : str, default "<memory>"
        Where the frame came from, for messages.
    stored : Source, optional
        How the frame was stored (readers pass it; row positions in it become ids).
    schema : str, optional
        What a row is (`dataqa.chat.SCHEMAS`); default: detected from the column names
        (`messages` -> chat, `chosen`/`rejected` -> preference, ...), else `text`.

    Returns
    -------
    Dataset

    Raises
    ------
    DataQAError
        No columns, repeated column names, no text column, a missing role column,
        empty or repeated ids, or a text column of numbers.
    """
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
    stored = stored if stored is not None else Source(format="memory")
    frame = _uncategorize(frame, stored)
    frame = _set_aside_surrogates(frame, stored)
    roles = infer_roles(
        frame,
        text_col=text_col,
        label_col=label_col,
        id_col=id_col,
        group_col=group_col,
        source=source,
        schema=schema,
    )
    if ROW_ID in frame.columns and roles.id != ROW_ID:
        raise DataQAError(
            f"the column {ROW_ID!r} is dataqa's own id column, but its values repeat or are "
            "missing, so dataqa cannot keep them",
            path=source,
            column=ROW_ID,
            hint=f"rename that column, or make its values unique (--id-col {ROW_ID})",
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
    if roles.schema == "text":
        _check_text_column(frame, roles.text, source)
    ids = frame.index  # row positions in `stored` -> row ids, so subsets keep them
    stored.absent = {k: set(ids[list(v)]) for k, v in stored.absent.items()}
    stored.surrogates = {(ids[pos], col): v for (pos, col), v in stored.surrogates.items()}
    return Dataset(frame=frame, roles=roles, source=source, meta={"io": stored})


def _uncategorize(frame: pd.DataFrame, stored: Source) -> pd.DataFrame:
    """`category` columns as plain values (a fix may need a value the categories lack);
    the categories are kept in `stored.categorical` and restored by the Parquet writer."""
    cats = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    if not cats:
        return frame
    frame = frame.copy()
    for c in cats:
        stored.categorical[c] = frame[c].cat.categories.tolist()
        frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    return frame


def _set_aside_surrogates(frame: pd.DataFrame, stored: Source) -> pd.DataFrame:
    """Replace lone surrogates (half an emoji, legal in JSON, illegal in UTF-8) by U+FFFD.

    No string tool downstream (Arrow, pandas' str dtype, great-expectations) can hold
    them, so every check sees the repaired value; the original is kept in
    `stored.surrogates` ((row position, column) -> value) so that hygiene can report
    the row, clean can log the repair, and a JSON writer can give a quarantined row
    back exactly as it came.
    """
    out = frame
    for col in frame.columns:
        if frame[col].dtype != object:
            continue  # Arrow-backed strings cannot hold surrogates in the first place
        values = frame[col].tolist()
        hits = [i for i, v in enumerate(values) if _has_surrogate(v)]
        if not hits:
            continue
        if out is frame:
            out = frame.copy()
        fixed = list(values)
        for i in hits:
            stored.surrogates[(i, col)] = values[i]
            fixed[i] = repair_surrogates(values[i])
        out[col] = pd.Series(fixed, index=frame.index, dtype=object)
    return out


def _has_surrogate(value) -> bool:
    if isinstance(value, str):
        return SURROGATE_RE.search(value) is not None
    if isinstance(value, list | tuple):
        return any(_has_surrogate(v) for v in value)
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    return False


def repair_surrogates(value):
    """`value` with every lone surrogate replaced by U+FFFD (recursing into lists and
    dicts), the repair Python's own `errors="replace"` makes."""
    if isinstance(value, str):
        return SURROGATE_RE.sub("\ufffd", value)
    if isinstance(value, list | tuple):
        return type(value)(repair_surrogates(v) for v in value)
    if isinstance(value, dict):
        return {repair_surrogates(k): repair_surrogates(v) for k, v in value.items()}
    return value


ROLE_ARGS = frozenset(
    {"text_col", "label_col", "id_col", "group_col", "schema", "source", "fmt", "encoding", "split"}
)
"""Keyword arguments `as_dataset` passes on to `from_frame` or `load`."""


def as_dataset(data, **roles) -> Dataset:
    """A `Dataset` from what a user holds: a Dataset (returned as is), a pandas
    DataFrame, a Hugging Face `datasets.Dataset` or a path that `load` reads (roles from
    `text_col=`... or guessed).

    Raises
    ------
    DataQAError
        Anything else, or a frame without a usable text column.
    """
    if isinstance(data, Dataset):
        return data
    unknown = sorted(set(roles) - ROLE_ARGS)
    if unknown:
        raise DataQAError(
            f"unknown argument {unknown[0]}=",
            hint=f"a stage takes the column roles {', '.join(sorted(ROLE_ARGS - {'source'}))} "
            "besides its own parameters (see its docstring)",
        )
    if isinstance(data, str | os.PathLike):
        return load(data, **{k: v for k, v in roles.items() if k != "source"})
    file_only = [k for k in ("fmt", "encoding", "split") if roles.pop(k, None) is not None]
    if file_only and isinstance(data, pd.DataFrame):
        raise DataQAError(f"{file_only[0]}= applies to files, not to a DataFrame")
    if isinstance(data, pd.DataFrame):
        return from_frame(data, **roles)
    if hasattr(data, "features") and hasattr(data, "to_pandas"):  # datasets.Dataset
        from dataqa.io.readers import _from_hf

        frame, stored = _from_hf(data, "datasets")
        return from_frame(frame, stored=stored, **roles)
    raise DataQAError(
        f"cannot read a {type(data).__name__} as a dataset",
        hint="pass a dataqa Dataset, a pandas DataFrame, a datasets.Dataset, or a path to dataqa.load",
    )


def another_split(data, like: Dataset, *, source: str, labels: bool = True) -> Dataset:
    """Another split of the same data (the test set a stage checks against), read the way
    `like` was: in its conversation format, or with its text (and label) column.

    Raises
    ------
    DataQAError
        As `as_dataset`.
    """
    if like.roles.schema != "text":
        return as_dataset(data, schema=like.roles.schema, source=source)
    label = like.roles.label if labels else None
    return as_dataset(data, text_col=like.roles.text, label_col=label, source=source)


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
    schema: str | None = None,
) -> Dataset:
    """Read CSV, TSV, JSONL, JSON, Parquet, a `datasets` folder or `hub:NAME`.

    Parameters
    ----------
    path : str or path-like
        The file or folder. A Hugging Face hub dataset is read only when the user writes
        `hub:NAME`: that is the one case where dataqa touches the network.
    text_col, label_col, id_col, group_col : str, optional
        Column roles; guessed from names and content when not given.
    fmt : str, optional
        Force the format (csv, tsv, jsonl, json, parquet, datasets).
    encoding : str, optional
        Text encoding; default UTF-8, or what a byte-order mark says.
    split : str, optional
        Split of a `datasets` folder or hub dataset (default "train").
    schema : str, optional
        What a row is (`text`, `chat`, `sharegpt`, `alpaca`, `completion`, `preference`);
        default: detected from the column names.

    Returns
    -------
    Dataset
        With `meta["format"]` and `meta["io"]` (a `dataqa.io.Source`) describing how
        the input was stored, so that writers give it back the same way.

    Raises
    ------
    DataQAError
        Unreadable or malformed input, or a column role that does not exist.
    """
    spath = str(path)
    from dataqa.io.shards import find_shards, is_sharded, read_all

    if not spath.startswith("hub:") and is_sharded(spath):
        # a glob or folder of Parquet/JSONL shards: ids `<shard>:<row>`, as the Dask engine
        shards = find_shards(spath)
        frame = read_all(shards)
        ds = from_frame(
            frame.reset_index(drop=id_col is not None),
            text_col=text_col,
            label_col=label_col,
            id_col=id_col or ROW_ID,
            group_col=group_col,
            source=spath,
            stored=Source(format=shards.fmt),
            schema=schema,
        )
        ds.meta["format"] = shards.fmt
        ds.meta["shards"] = len(shards.paths)
        return ds
    if not spath.startswith("hub:"):
        recover(Path(spath).parent)  # a killed `dataqa clean` may have left a set to finish
    frame, source = read(spath, fmt=fmt, encoding=encoding, split=split)
    ds = from_frame(
        frame,
        text_col=text_col,
        label_col=label_col,
        id_col=id_col,
        group_col=group_col,
        source=spath,
        stored=source,
        schema=schema,
    )
    ds.meta["format"] = source.format
    return ds


def _closest(name: str, columns) -> str:
    match = difflib.get_close_matches(name, [str(c) for c in columns], n=1, cutoff=0.5)
    return f"; did you mean {match[0]!r}?" if match else ""


def _require(frame: pd.DataFrame, name: str, flag: str, source: str) -> str:
    if name not in frame.columns:
        cols = ", ".join(repr(str(c)) for c in frame.columns)
        in_memory = source == "<memory>"  # a notebook user passes label_col=, not a flag
        raise DataQAError(
            f"there is no column {name!r} (columns: {cols}){_closest(name, frame.columns)}",
            path=None if in_memory else source,
            column=name,
            hint="pass the right name as "
            + (flag.lstrip("-").replace("-", "_") + "=" if in_memory else flag),
        )
    return name


def _find(frame: pd.DataFrame, names, exclude=()) -> str | None:
    lower = {str(c).lower(): c for c in frame.columns if c not in exclude}
    for n in names:
        if n in lower:
            return lower[n]
    return None


def infer_roles(
    frame,
    *,
    text_col=None,
    label_col=None,
    id_col=None,
    group_col=None,
    source="<memory>",
    schema=None,
) -> Roles:
    """Pick columns by name, else by content; an explicit choice always wins."""
    from dataqa.chat import SCHEMA_COLUMNS, SCHEMAS, detect_schema

    if schema is not None and schema not in SCHEMAS:
        raise DataQAError(
            f"unknown schema {schema!r}", path=source, hint=f"use one of: {', '.join(SCHEMAS)}"
        )
    schema = schema or ("text" if text_col else detect_schema(frame.columns))
    if schema != "text":
        main = SCHEMA_COLUMNS[schema]
        lower = {str(c).lower(): c for c in frame.columns}
        if main not in lower:
            raise DataQAError(
                f"{'an' if schema[0] in 'aeiou' else 'a'} {schema} dataset needs the column "
                f"{main!r} (columns: "
                f"{', '.join(map(repr, map(str, frame.columns)))})",
                path=source,
                hint="check the file, or force the right --schema",
            )
        ident = id_col or _find(frame, ID_NAMES, {lower[main]})
        if ident is not None and id_col is None:
            col = frame[ident]
            if col.duplicated().any() or col.isna().any():
                ident = None
        return Roles(text=lower[main], label=label_col, id=ident, group=group_col, schema=schema)
    given = {"text": text_col, "label": label_col, "id": id_col, "group": group_col}
    flags = {"text": "--text-col", "label": "--label-col", "id": "--id-col", "group": "--group-col"}
    named = [n for n in given.values() if n is not None]
    if len(named) != len(set(named)):
        twice = next(n for n in named if named.count(n) > 1)
        roles = [flags[r] for r, n in given.items() if n == twice]
        raise DataQAError(
            f"column {twice!r} is given two roles ({' and '.join(roles)})",
            path=source,
            column=twice,
            hint="give each role its own column",
        )
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
    if ident is not None and id_col is None:
        col = frame[ident]
        if col.duplicated().any() or col.isna().any():
            ident = None  # an inferred id column that is not unique and full is just data
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
        sample = _as_strings(col.dropna().head(1000))
        if sample.empty or pd.to_numeric(sample, errors="coerce").notna().mean() > 0.9:
            continue
        mean_len = sample.str.len().mean()
        if mean_len > best_len:
            best, best_len = c, mean_len
    return best


def _as_strings(values: pd.Series) -> pd.Series:
    """`values` as Python strings in an object Series (safe for lone surrogates)."""
    return pd.Series([str(v) for v in values], index=values.index, dtype=object)


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
        pd.to_numeric(_as_strings(present.head(5000)), errors="coerce").notna().all()
    ):
        raise DataQAError(
            "the text column holds numbers, not text",
            path=source,
            column=text,
            hint="pick the column with the text in it with --text-col",
        )
