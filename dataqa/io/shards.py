"""Sharded inputs: a glob or a folder of Parquet or JSONL files, or a `datasets` folder
(`save_to_disk`: Arrow files), read piece by piece.

Both engines read shards through this module, so a row has the same id whichever engine
reads it: ``<shard path relative to the common folder>:<0-based row in that shard>``
(e.g. ``part-00003.parquet:1742``). The id depends only on the file and the row, never
on how the rows are cut into partitions or blocks. Inside a run, rows are also ordered
by a 64-bit position, ``shard number << 32 | row``, over the sorted list of shards.

A `datasets` folder keeps the ids the local reader gives it: the row's number in the
whole split (0, 1, ...), and its `ClassLabel` columns are read as their names
(`dataqa.io.readers.class_label_names`), as the local reader does.
"""

from __future__ import annotations

import glob as globlib
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dataqa.errors import DataQAError

SHARD_FORMATS = {".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}
ROWS_PER_PIECE = 1 << 18
"""Rows per piece when a Parquet shard is cut into pieces (at row-group boundaries)."""
POS_SHIFT = 32


@dataclass(frozen=True)
class Piece:
    """Rows [start, stop) of shard number `index` (`path`)."""

    path: str
    name: str
    index: int
    fmt: str
    start: int
    groups: tuple[int, ...] | None = None
    """Parquet row groups or Arrow record batches of the piece (None: the whole shard)."""
    offset: int | None = None
    """`datasets` folders: the shard's first row in the split; ids are then the row's number
    in the split (as the local reader's), not ``<shard>:<row>``."""
    class_labels: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """`ClassLabel` columns and their names, read as names."""


@dataclass
class ShardSet:
    """The shards of one input: sorted paths, their common folder, format and columns."""

    pattern: str
    paths: list[Path]
    root: Path
    fmt: str
    columns: list[str]
    offsets: list[int] | None = None
    """`datasets` folders: the first row of each shard in the split."""
    class_labels: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def name(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def pieces(self) -> list[Piece]:
        """The pieces to read: a Parquet shard is cut at row-group boundaries into pieces
        of about `ROWS_PER_PIECE` rows; a JSONL shard is one piece."""
        out = []
        if self.fmt == "arrow":
            return self._arrow_pieces()
        for i, p in enumerate(self.paths):
            if self.fmt != "parquet":
                out.append(Piece(str(p), self.name(p), i, self.fmt, 0))
                continue
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(p).metadata
            start, size, groups = 0, 0, []
            for g in range(meta.num_row_groups):
                size += meta.row_group(g).num_rows
                groups.append(g)
                if size >= ROWS_PER_PIECE:
                    out.append(Piece(str(p), self.name(p), i, "parquet", start, tuple(groups)))
                    start, size, groups = start + size, 0, []
            if groups or start == 0:
                out.append(Piece(str(p), self.name(p), i, "parquet", start, tuple(groups)))
        return out

    def _arrow_pieces(self) -> list[Piece]:
        import pyarrow as pa

        out = []
        assert self.offsets is not None
        for i, p in enumerate(self.paths):
            with pa.memory_map(str(p)) as src:
                sizes = [b.num_rows for b in pa.ipc.open_stream(src)]
            start, size, batches = 0, 0, []
            for b, rows in enumerate(sizes):
                size += rows
                batches.append(b)
                if size >= ROWS_PER_PIECE:
                    out.append(self._arrow_piece(i, p, start, batches))
                    start, size, batches = start + size, 0, []
            if batches or start == 0:
                out.append(self._arrow_piece(i, p, start, batches))
        return out

    def _arrow_piece(self, i: int, p: Path, start: int, batches: list[int]) -> Piece:
        assert self.offsets is not None
        return Piece(
            str(p),
            self.name(p),
            i,
            "arrow",
            start,
            tuple(batches),
            offset=self.offsets[i],
            class_labels=self.class_labels,
        )


def is_datasets_folder(path: str) -> bool:
    """True when `path` is a folder written by `datasets`' `save_to_disk`."""
    p = Path(path)
    return p.is_dir() and any(
        (p / m).exists() for m in ("dataset_info.json", "state.json", "dataset_dict.json")
    )


def is_sharded(path: str) -> bool:
    """True when `path` is a glob, or a folder of Parquet/JSONL files (not a `datasets`
    folder, which the single-file readers handle)."""
    if any(ch in path for ch in "*?["):
        return True
    p = Path(path)
    if not p.is_dir() or (p / "dataset_info.json").exists() or (p / "dataset_dict.json").exists():
        return False
    return any(f.suffix in SHARD_FORMATS for f in p.iterdir())


def find_shards(pattern: str) -> ShardSet:
    """The shards a glob or folder names, checked to be one format with one schema.

    Raises
    ------
    DataQAError
        Nothing matches, formats are mixed or unsupported, or two shards have different
        columns or column types (the message names both shards and the difference).
    """
    p = Path(pattern)
    if is_datasets_folder(pattern):
        return _datasets_shards(p)
    if p.is_dir():
        paths = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix in SHARD_FORMATS)
    else:
        paths = sorted(Path(f) for f in globlib.glob(pattern, recursive=True) if Path(f).is_file())
    if not paths:
        raise DataQAError(
            f"no Parquet or JSONL shards match {pattern!r}",
            hint="check the glob (quote it so the shell does not expand it) or the folder",
        )
    kinds = {SHARD_FORMATS.get(f.suffix) for f in paths}
    fmt = next(iter(kinds))
    if fmt is None or len(kinds) > 1:
        odd = sorted({f.suffix or f.name for f in paths})
        raise DataQAError(
            f"the shards of {pattern!r} must all be .parquet or all .jsonl, found {odd}",
            hint="narrow the glob to one format",
        )
    root = Path(os.path.commonpath([str(f.parent) for f in paths]))
    columns = _check_schemas(paths, fmt, root)
    return ShardSet(pattern, paths, root, fmt, columns)


def _check_schemas(paths: list[Path], fmt: str, root: Path) -> list[str]:
    """Every shard's columns and types must be the first shard's (Parquet: the footers;
    JSONL: the keys and value types of each shard's first line)."""

    def schema(path: Path) -> dict[str, str]:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            s = pq.read_schema(path)
            return {n: str(s.field(n).type) for n in s.names if not n.startswith("__index")}
        import json

        with open(path, encoding="utf-8") as fh:
            first = next((line for line in fh if line.strip()), "{}")
        try:
            rec = json.loads(first)
        except ValueError as err:
            raise DataQAError(f"not JSON lines: {err}", path=str(path), row=0) from None
        return {k: type(v).__name__ for k, v in rec.items() if v is not None}

    base = schema(paths[0])
    for path in paths[1:]:
        other = schema(path)
        if fmt == "jsonl":  # a null value says nothing about a column's type
            same = set(other) == set(base) or set(other) <= set(base)
            same = same and all(base.get(k) == v for k, v in other.items())
        else:
            same = other == base
        if not same:
            missing = sorted(set(base) - set(other))
            extra = sorted(set(other) - set(base))
            typed = sorted(k for k in set(base) & set(other) if base[k] != other[k])
            what = "; ".join(
                x
                for x in (
                    f"missing {missing}" if missing else "",
                    f"extra {extra}" if extra else "",
                    ", ".join(f"{k}: {base[k]} vs {other[k]}" for k in typed),
                )
                if x
            )
            raise DataQAError(
                f"shards have different schemas: {path.relative_to(root).as_posix()} differs "
                f"from {paths[0].relative_to(root).as_posix()} ({what})",
                path=str(path),
                hint="give shards of one schema (convert or select the odd ones out)",
            )
    return list(base)


def _datasets_shards(folder: Path, split: str | None = None) -> ShardSet:
    """The Arrow files of a `save_to_disk` folder (of a DatasetDict: the split `split`,
    else "train", else the only one), in the order `state.json` lists them."""
    import json

    where = str(folder)
    if (folder / "dataset_dict.json").exists():
        splits = json.loads((folder / "dataset_dict.json").read_text()).get("splits", [])
        chosen = split or (
            "train" if "train" in splits else splits[0] if len(splits) == 1 else None
        )
        if chosen is None or chosen not in splits:
            raise DataQAError(
                f"it holds the splits {splits}; --engine dask reads the train split",
                path=where,
                hint="save the split to read as its own folder, or name one 'train'",
            )
        folder = folder / chosen
    try:
        state = json.loads((folder / "state.json").read_text())
        info = json.loads((folder / "dataset_info.json").read_text())
        files = [folder / f["filename"] for f in state["_data_files"]]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DataQAError(
            f"cannot read this datasets folder ({type(err).__name__}: {err})",
            path=where,
            hint="check the folder is complete; re-save it with save_to_disk",
        ) from None
    missing = [f.name for f in files if not f.is_file()]
    if missing or not files:
        raise DataQAError(
            f"the datasets folder lists data files that are not there: {missing[:3]}"
            if missing
            else "the datasets folder lists no data files",
            path=where,
            hint="re-save it with save_to_disk",
        )
    import pyarrow as pa

    offsets, total, columns = [], 0, None
    for f in files:
        offsets.append(total)
        with pa.memory_map(str(f)) as src:
            reader = pa.ipc.open_stream(src)
            columns = columns or [n for n in reader.schema.names]
            total += sum(b.num_rows for b in reader)
    features = info.get("features") or {}
    class_labels = tuple(
        (name, tuple(feat["names"]))
        for name, feat in features.items()
        if isinstance(feat, dict) and feat.get("_type") == "ClassLabel"
    )
    return ShardSet(where, files, folder, "arrow", list(columns or []), offsets, class_labels)


def read_piece(piece: Piece, columns: list[str] | None = None) -> pd.DataFrame:
    """The rows of one piece, indexed by their row ids (`dataqa_row_id`).

    Raises
    ------
    DataQAError
        A JSONL line that is not a JSON object.
    """
    if piece.fmt == "arrow":
        import pyarrow as pa

        from dataqa.io.readers import class_label_names

        wanted = set(piece.groups or ())
        with pa.memory_map(piece.path) as src:
            reader = pa.ipc.open_stream(src)
            batches = [b for i, b in enumerate(reader) if i in wanted or piece.groups is None]
            table = pa.Table.from_batches(batches, schema=reader.schema)
        if columns is not None:
            table = table.select([c for c in columns if c in table.column_names])
        frame = class_label_names(
            table.to_pandas(),
            {c: list(n) for c, n in piece.class_labels if c in table.column_names},
        )
        rows = range(piece.start, piece.start + len(frame))
        assert piece.offset is not None
        frame.index = pd.Index([piece.offset + r for r in rows], name="dataqa_row_id")
        return frame
    if piece.fmt == "parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(piece.path)
        groups = list(range(pf.num_row_groups)) if piece.groups is None else list(piece.groups)
        frame = pf.read_row_groups(groups, columns=columns).to_pandas()
    else:
        try:
            frame = pd.read_json(piece.path, lines=True, dtype=False)
        except ValueError as err:
            raise DataQAError(f"not JSON lines: {err}", path=piece.path) from None
        if columns is not None:
            frame = frame.reindex(columns=columns)
    rows = range(piece.start, piece.start + len(frame))
    frame.index = pd.Index([f"{piece.name}:{r}" for r in rows], name="dataqa_row_id", dtype=object)
    return frame


def piece_positions(piece: Piece, n: int):
    """The 64-bit positions of a piece's `n` rows (shard number << 32 | row)."""
    import numpy as np

    return (np.int64(piece.index) << np.int64(POS_SHIFT)) + np.arange(
        piece.start, piece.start + n, dtype=np.int64
    )


def read_all(shards: ShardSet) -> pd.DataFrame:
    """Every shard in one pandas frame (the local engine's read), ids as in `read_piece`."""
    frames = [read_piece(p, shards.columns) for p in shards.pieces()]
    return pd.concat(frames) if len(frames) > 1 else frames[0]


def row_ids(pieces: list[Piece], pos) -> pd.Index:
    """The row ids (as `read_piece` gives them) of 64-bit positions `pos`."""
    import numpy as np

    pos = np.asarray(pos, dtype=np.int64)
    shard = pos >> POS_SHIFT
    row = pos & ((1 << POS_SHIFT) - 1)
    first = {p.index: p for p in pieces}
    if pieces and pieces[0].offset is not None:
        offsets = np.zeros(max(first) + 1, np.int64)
        for i, p in first.items():
            offsets[i] = p.offset or 0
        return pd.Index(offsets[shard] + row, name="dataqa_row_id")
    table = np.array([first[i].name if i in first else "" for i in range(max(first) + 1)])
    ids = table.astype(object)[shard] + ":" + row.astype(str).astype(object)
    return pd.Index(ids, dtype=object, name="dataqa_row_id")
