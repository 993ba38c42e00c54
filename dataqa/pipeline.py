"""`dataqa run pipeline.yaml`: audit -> clean -> augment -> finetune, one report, resumable.

The YAML file names the data, its columns, which stages run and their options (see
rules/pipeline.example.yaml). Paths in it are relative to the file's folder. Every
stage's output is cached under `<out>/.cache` by a hash of its inputs (file bytes,
options, seed, upstream stage keys, dataqa version): a re-run reuses what did not change
and resumes after an interruption (each output is written atomically, so a stage that
was cut off simply runs again). The fine-tune stage also caches per run, so changing
only the curated set retrains only the curated model.

Outputs in `<out>`: before.json (audit of the raw set), curated.<ext> in the input's
format (CSV, TSV, JSON lines, JSON or Parquet; CSV for other classification inputs, JSONL
for other conversation inputs) with clean.quarantine.<ext> and clean.changes.<ext>, after.json (audit of the curated set), finetune.json, and report.json /
report.html: one report with the raw audit's findings, `stats.clean`, `stats.augment`,
`stats.finetune` and `stats.pipeline` (stages, before/after counts); compare.html shows
before and after side by side when the HTML renderer is installed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

from dataqa import __version__
from dataqa.errors import DataQAError
from dataqa.findings import Report

STAGES = ("audit", "clean", "augment", "finetune")
TOP_KEYS = {"name", "out", "seed", "data", "stages", "engine"}
DATA_KEYS = {
    "train",
    "test",
    "text_col",
    "label_col",
    "id_col",
    "group_col",
    "format",
    "encoding",
    "split",
    "schema",
}
AUDIT_KEYS = {"checks", "options"}
AUGMENT_KEYS = {"methods", "plan", "target", "per_class", "factor", "options"}
FINETUNE_EXTRA = {
    "model",
    "search",
    "trials",
    "time_budget",
    "space",
    "select_on",
    "baseline",
    "audit_test",
    "wandb",
    "tensorboard",
}


# ---- reading and validating the file -----------------------------------------------------


def key_lines(text: str) -> dict[str, int]:
    """Dotted key path -> 1-based line, so errors can point at the line of a bad key."""
    import yaml

    out: dict[str, int] = {}

    def walk(node, prefix: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                path = f"{prefix}.{k.value}" if prefix else str(k.value)
                out[path] = k.start_mark.line + 1
                walk(v, path)

    with contextlib.suppress(yaml.YAMLError):
        walk(yaml.compose(text), "")
    return out


class Spec:
    """The parsed pipeline file, with the means to blame a line for a bad value."""

    def __init__(self, path: Path, data: dict, lines: dict[str, int]) -> None:
        self.path, self.data, self.lines = path, data, lines

    def error(self, key: str, problem: str, hint: str | None = None) -> DataQAError:
        line = self.lines.get(key)
        return DataQAError(
            f"{'line ' + str(line) + ', ' if line else ''}key {key!r}: {problem}",
            path=str(self.path),
            hint=hint,
        )

    def resolve(self, value: str) -> Path:
        p = Path(str(value)).expanduser()
        return p if p.is_absolute() else (self.path.parent / p)


def load_spec(path: str | Path) -> Spec:
    import yaml

    path = Path(path)
    if not path.is_file():
        raise DataQAError(
            "no such pipeline file", path=str(path), hint="give the path of a YAML file"
        )
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise DataQAError(
            f"{where}not valid YAML ({getattr(err, 'problem', None) or err})",
            path=str(path),
            hint="check the indentation and quoting around that line",
        ) from None
    spec = Spec(path, data if isinstance(data, dict) else {}, key_lines(text))
    if not isinstance(data, dict):
        raise DataQAError(
            "the pipeline file must be a mapping with data: and stages:",
            path=str(path),
            hint="see rules/pipeline.example.yaml",
        )
    _unknown(spec, data, TOP_KEYS, "")
    d = data.get("data")
    if not isinstance(d, dict) or "train" not in d:
        raise spec.error(
            "data",
            "needs a mapping with at least train: PATH",
            hint="e.g. data: {train: train.csv, test: test.csv, label_col: label}",
        )
    _unknown(spec, d, DATA_KEYS, "data")
    stages = data.get("stages")
    if stages is None:
        stages = {s: True for s in STAGES}
    if not isinstance(stages, dict):
        raise spec.error("stages", "must be a mapping of stage name to options (or true/false)")
    _unknown(spec, stages, set(STAGES), "stages")
    norm = {}
    for name in STAGES:
        value = stages.get(name, False)
        if value is True:
            value = {}
        if value not in (False, None) and not isinstance(value, dict):
            raise spec.error(f"stages.{name}", "must be true, false or a mapping of options")
        norm[name] = None if value in (False, None) else value
    spec.data["stages"] = norm
    spec.data["engine"] = engine_of(spec)
    if spec.data["engine"].engine == "dask":
        later = [n for n in ("augment", "finetune") if norm[n] is not None]
        if later or d.get("test"):
            raise spec.error(
                "engine",
                f"the dask engine runs the audit and clean stages only, not "
                f"{later[0] if later else 'data.test (leakage)'}",
                hint="drop those keys, or use engine: local",
            )
    if norm["finetune"] is not None and not d.get("test"):
        raise spec.error("data", "the finetune stage needs a test set: data: {test: PATH}")
    validate_stages(spec)
    return spec


def engine_of(spec: Spec):
    """The `engine:` key, validated: `local`, `dask`, or a mapping of `EngineOptions`
    fields (`{engine: dask, scheduler: tcp://host:8786}`)."""
    from dataqa.engine import EngineOptions
    from dataqa.options import validate

    value = spec.data.get("engine") or "local"
    values = {"engine": value} if isinstance(value, str) else value
    if not isinstance(values, dict):
        raise spec.error("engine", "must be local, dask or a mapping (engine:, scheduler:)")
    try:
        return validate(EngineOptions, values, where="engine")
    except DataQAError as err:
        raise spec.error("engine", err.problem, hint=err.hint) from None


def validate_stages(spec: Spec) -> None:
    """Check every stage's options before anything runs (a typo fails in a second, not
    after an hour of audit)."""
    from dataqa.stages.clean import CleanOptions

    stages = spec.data["stages"]
    if stages["audit"] is not None:
        _unknown(spec, stages["audit"], AUDIT_KEYS, "stages.audit")
    if stages["clean"] is not None:
        _dataclass_kwargs(spec, CleanOptions, stages["clean"], "stages.clean")
    if stages["augment"] is not None:
        _unknown(spec, stages["augment"], AUGMENT_KEYS, "stages.augment")
    if stages["finetune"] is not None:
        _finetune_options(spec, stages["finetune"], seed=0)


def _finetune_options(spec: Spec, values: dict, seed: int):
    """The stage's TrainOptions and its other keys; a bad key or value names its line."""
    import re

    from dataqa.train.options import TrainOptions, make_options

    names = set(TrainOptions.model_fields)
    _unknown(spec, values, names | FINETUNE_EXTRA, "stages.finetune")
    kw = {k: v for k, v in values.items() if k in names}
    kw.setdefault("seed", seed)
    try:
        opts = make_options("stages.finetune", **kw)
    except DataQAError as err:
        bad = re.match(r"(stages\.finetune\.\w+)", err.problem)
        raise spec.error(
            bad.group(1) if bad else "stages.finetune", err.problem, err.hint
        ) from None
    return opts, {k: v for k, v in values.items() if k in FINETUNE_EXTRA}


def _unknown(spec: Spec, mapping: dict, allowed: set, prefix: str) -> None:
    import difflib

    for key in mapping:
        if key not in allowed:
            full = f"{prefix}.{key}" if prefix else str(key)
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            raise spec.error(
                full,
                "unknown key" + (f"; did you mean {close[0]!r}?" if close else ""),
                hint=f"allowed here: {', '.join(sorted(allowed))}",
            )


def _dataclass_kwargs(
    spec: Spec, cls, values: dict, prefix: str, extra: set = frozenset()
) -> tuple[dict, dict]:
    fields = getattr(cls, "model_fields", None)  # a pydantic options model, or a dataclass
    names = set(fields) if fields is not None else {f.name for f in dataclasses.fields(cls)}
    _unknown(spec, values, names | set(extra), prefix)
    return {k: v for k, v in values.items() if k in names}, {
        k: v for k, v in values.items() if k in extra
    }


# ---- hashing and the cache ---------------------------------------------------------------


def _key(*parts: Any) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([__version__, *parts], sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def _file_key(ds) -> str:
    from dataqa.stages.audit import input_hash

    return _key("data", input_hash(ds), ds.roles.as_dict())


class Cache:
    def __init__(self, root: Path, fresh: bool) -> None:
        self.root, self.fresh = root, fresh

    def path(self, name: str) -> Path:
        return self.root / name

    def has(self, name: str) -> bool:
        return not self.fresh and self.path(name).exists()


# ---- running -----------------------------------------------------------------------------


def run_pipeline(
    path: str | Path,
    *,
    out_dir: str | Path | None = None,
    fresh: bool = False,
    progress: bool = False,
    engine=None,
) -> dict:
    """Run the stages the file asks for; return {"report", "summary", "outputs", "stages"}.

    `engine` (`dataqa.engine.EngineOptions`) overrides the file's `engine:` key; with
    the dask engine only the audit and clean stages run (on sharded input).
    """
    from dataqa.dataset import atomic_write_text, load, write_table

    spec = load_spec(path)
    if engine is not None:  # `dataqa run --engine`: the flags win over the file
        spec.data["engine"] = engine
    data, stages = spec.data["data"], spec.data["stages"]
    seed = int(spec.data.get("seed", 0) or 0)
    name = str(spec.data.get("name") or Path(path).stem)
    out = (
        Path(out_dir)
        if out_dir
        else (spec.resolve(spec.data["out"]) if spec.data.get("out") else Path("reports") / name)
    )
    _refuse_outputs_over_inputs(spec, out)
    cache = Cache(out / ".cache", fresh)
    out.mkdir(parents=True, exist_ok=True)
    log: list[dict] = []
    roles = {k: data.get(k) for k in ("text_col", "label_col", "id_col", "group_col")}

    def note(stage: str, status: str, seconds: float = 0.0, **extra) -> None:
        log.append({"stage": stage, "status": status, "seconds": round(seconds, 1), **extra})
        if progress:
            msg = extra.get("note", "")
            print(
                f"run: {stage:<9} {status}{f' ({seconds:.1f}s)' if seconds else ''}{' - ' + msg if msg else ''}",
                flush=True,
            )

    if spec.data["engine"].engine == "dask":
        return _run_on_dask(spec, out, roles, seed, stages, progress)
    with _blame(spec, "data.train"):
        raw = load(
            spec.resolve(data["train"]),
            fmt=data.get("format"),
            encoding=data.get("encoding"),
            split=data.get("split"),
            schema=data.get("schema"),
            **roles,
        )
    test = None
    if data.get("test"):
        with _blame(spec, "data.test"):
            test = load(
                spec.resolve(data["test"]),
                fmt=data.get("format"),
                encoding=data.get("encoding"),
                **_roles_like(raw, group=False),
            )
    raw_key = _file_key(raw)
    test_key = _file_key(test) if test is not None else None

    # audit (before)
    audit_opts = stages["audit"] if stages["audit"] is not None else {"checks": None, "options": {}}
    _unknown(spec, audit_opts, AUDIT_KEYS, "stages.audit")
    before = _audit_cached(
        raw,
        test,
        audit_opts,
        seed,
        cache,
        f"audit-{_key(raw_key, test_key, audit_opts, seed)}.json",
        progress,
        note,
        "audit" if stages["audit"] is not None else "audit (for clean)",
    )
    before.save(out / "before.json")

    curated, curated_key, stats_clean, stats_augment = raw, raw_key, None, None
    if stages["clean"] is not None:
        curated, curated_key, stats_clean = _clean_stage(
            spec,
            raw,
            test,
            before,
            stages["clean"],
            seed,
            cache,
            out,
            raw_key,
            test_key,
            progress,
            note,
        )
    else:
        note("clean", "skipped", note="not in the file")
    if stages["augment"] is not None:
        curated, curated_key, stats_augment = _augment_stage(
            spec, curated, curated_key, stages["augment"], seed, cache, progress, note
        )
    else:
        note("augment", "skipped", note="not in the file")
    if curated is not raw:
        write_table(curated.frame, out / f"curated{_ext(raw)}", source=curated.io)

    after = None
    if curated is not raw:
        after = _audit_cached(
            curated,
            test,
            audit_opts,
            seed,
            cache,
            f"after-{_key(curated_key, test_key, audit_opts, seed)}.json",
            progress,
            note,
            "audit (after)",
        )
        if stats_clean is not None:
            after.stats["clean"] = stats_clean
        if stats_augment is not None:
            after.stats["augment"] = stats_augment
        after.save(out / "after.json")

    ft_report = None
    if stages["finetune"] is not None:
        ft_report = _finetune_stage(
            spec,
            raw,
            curated,
            test,
            stages["finetune"],
            seed,
            cache,
            out,
            raw_key,
            curated_key,
            test_key,
            progress,
            note,
        )
        ft_report.save(out / "finetune.json")
        if after is not None:
            after.stats["finetune"] = ft_report.stats["finetune"]
            after.save(out / "after.json")
    else:
        note("finetune", "skipped", note="not in the file")

    report = _combine(before, after, ft_report, stats_clean, stats_augment, log, spec, out)
    report.save(out / "report.json")
    outputs = {"report": str(out / "report.json"), "before": str(out / "before.json")}
    if after is not None:
        outputs["after"] = str(out / "after.json")
        outputs["curated"] = str(out / f"curated{_ext(raw)}")
    if stats_clean is not None:
        for n in ("quarantine", "changes"):
            outputs[n] = str(out / f"clean.{n}{_ext(raw)}")
    if ft_report is not None:
        outputs["finetune"] = str(out / "finetune.json")
    outputs.update(_html(report, before, after, out))
    atomic_write_text(
        out / "pipeline.log.json", json.dumps({"stages": log, "outputs": outputs}, indent=1)
    )
    return {
        "report": report,
        "summary": _summary(report, log, outputs),
        "outputs": outputs,
        "stages": log,
    }


def _run_on_dask(spec: Spec, out: Path, roles: dict, seed: int, stages: dict, progress: bool):
    """`engine: dask`: audit (report.json) and clean (curated/ Parquet parts) on a cluster."""
    from dataqa.engine.dask_engine import audit_dask, clean_dask, dask_client
    from dataqa.io.shards import find_shards
    from dataqa.options import validate
    from dataqa.stages.clean import CleanOptions

    data = spec.data["data"]
    with _blame(spec, "data.train"):
        shards = find_shards(str(spec.resolve(data["train"])))
    audit_opts = stages["audit"] or {}
    cols = {k: roles.get(k) for k in ("text_col", "label_col", "group_col")}
    outputs: dict = {}
    with dask_client(spec.data["engine"]) as client:
        report = audit_dask(
            shards,
            client,
            checks=audit_opts.get("checks"),
            options=audit_opts.get("options") or {},
            seed=seed,
            progress=progress,
            **cols,
        )
        report.save(out / "report.json")
        outputs["report"] = str(out / "report.json")
        summary = None
        if stages["clean"] is not None:
            kwargs, _ = _dataclass_kwargs(spec, CleanOptions, stages["clean"], "stages.clean")
            with _blame(spec, "stages.clean"):
                opts = validate(CleanOptions, kwargs, where="stages.clean")
            paths = (out / "curated", out / "curated.quarantine", out / "curated.changes")
            summary = clean_dask(
                shards, client, paths, options=opts, seed=seed, progress=progress, **cols
            )
            outputs.update({"kept": str(paths[0]), "quarantine": str(paths[1])})
    if progress:
        print(f"run: dask audit + clean done; report {out / 'report.json'}", flush=True)
    return {"report": report, "summary": summary, "outputs": outputs, "stages": []}


OUTPUT_NAMES = (
    "before.json",
    "after.json",
    "finetune.json",
    "report.json",
    "report.html",
    "compare.html",
    "pipeline.log.json",
    "curated",
    "curated.quarantine",
    "curated.changes",
    "finetune",
    ".cache",
)
"""Files and folders a run writes in its `out` folder; `curated.*`, `clean.quarantine.*` and
`clean.changes.*` take the input's extension."""


def _refuse_outputs_over_inputs(spec: Spec, out: Path) -> None:
    """Raise before anything is written when a file the run would write is one of its
    inputs: `out: .` beside a `train: curated.csv` would replace the raw data with the
    curated rows (`dataqa clean` refuses the same; a run has no --force: name another
    `out:`)."""
    from dataqa.io.writers import same_file

    inputs = {}
    for key in ("train", "test"):
        value = spec.data["data"].get(key)
        if isinstance(value, str) and not value.startswith("hub:"):
            inputs[f"data.{key}"] = spec.resolve(value)
    written = [out / n for n in OUTPUT_NAMES]
    for key, src in inputs.items():
        name = src.name.lower()
        for prefix in ("curated.", "clean.quarantine.", "clean.changes."):
            if name.startswith(prefix):  # the stage outputs take the input's extension
                written.append(out / src.name)
        for target in written:
            inside = target.is_dir() and src.resolve().is_relative_to(target.resolve())
            if same_file(src, target) or inside:
                line = spec.lines.get(key)
                raise DataQAError(
                    f"the run would write {target.name} over its own input ({key}"
                    + (f", line {line}" if line else "")
                    + f" of {spec.path})",
                    path=str(src),
                    hint="set `out:` (or --out) to another folder, or rename the input file",
                )


@contextlib.contextmanager
def _blame(spec: Spec, key: str):
    """Add which key of which pipeline file named a data file that failed to load."""
    try:
        yield
    except DataQAError as err:
        line = spec.lines.get(key)
        where = f"key {key!r}" + (f" on line {line}" if line else "") + f" of {spec.path}"
        err.hint = (
            (err.hint.rstrip(".") + "; ") if err.hint else ""
        ) + f"the path comes from {where}"
        err.args = (err.paragraph(),)
        raise


def _audit_cached(ds, test, opts, seed, cache: Cache, file: str, progress, note, label) -> Report:
    from dataqa.stages.audit import audit

    if cache.has(file):
        note(label, "cached")
        return Report.load(cache.path(file))
    t0 = time.perf_counter()
    report = audit(
        ds,
        checks=opts.get("checks"),
        options=opts.get("options") or {},
        against=test,
        seed=seed,
        progress=progress,
    )
    report.save(cache.path(file))
    note(label, "ran", time.perf_counter() - t0, note=f"{len(report.findings)} findings")
    return report


def _clean_stage(
    spec, raw, test, before, opts, seed, cache, out, raw_key, test_key, progress, note
):
    from dataqa.dataset import atomic_write_text, load
    from dataqa.io import write_outputs
    from dataqa.stages.clean import CleanOptions, clean, relabel_caveat

    kwargs, _ = _dataclass_kwargs(spec, CleanOptions, opts, "stages.clean")
    labels_findings = [f.to_dict() for f in before.findings if f.check.startswith("label")]
    ext = _ext(raw)
    key = _key("clean", raw_key, test_key, kwargs, labels_findings, seed, ext)
    folder = cache.path(f"clean-{key}")
    files = {n: folder / f"{n}{ext}" for n in NAMES_CLEAN}
    if cache.has(f"clean-{key}/summary.json"):
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        note("clean", "cached")
    else:
        t0 = time.perf_counter()
        result = clean(
            raw,
            options=CleanOptions(**kwargs),
            against=test,
            report=before,
            seed=seed,
            progress=progress,
        )
        result.save(files["kept"], quarantine=files["quarantine"], changes=files["changes"])
        summary = {k: v for k, v in result.summary.items()}
        atomic_write_text(folder / "summary.json", json.dumps(summary, default=str, indent=1))
        note(
            "clean",
            "ran",
            time.perf_counter() - t0,
            note=f"{summary['rows_kept']} kept, {summary['rows_quarantined']} quarantined"
            + (f". NOTE: {caveat}" if (caveat := relabel_caveat(summary)) else ""),
        )
    write_outputs(  # copies of the cached set, written as one set too
        [
            (out / f"clean.{n}{ext}", functools.partial(shutil.copyfile, files[n]))
            for n in ("quarantine", "changes")
        ]
    )
    kept = load(files["kept"], **_roles_like(raw))
    kept.source = str(out / f"curated{ext}")
    stats = {k: v for k, v in summary.items() if k != "options"}
    stats["options"] = summary.get("options")
    reasons = summary.get("quarantine_reasons", {})
    if reasons:
        stats["charts"] = [
            {
                "id": "clean-quarantine-reasons",
                "type": "bar",
                "title": "Quarantined rows by reason",
                "x_label": "reason",
                "y_label": "rows",
                "data": {"labels": list(reasons), "values": list(reasons.values())},
            }
        ]
    return kept, key, stats


NAMES_CLEAN = ("kept", "quarantine", "changes")


def _ext(ds) -> str:
    """The file type stage outputs take: the input's own when dataqa writes it back
    identically (CSV, TSV, JSON lines, JSON, Parquet; gzip, bz2 or xz kept), else JSONL for
    conversation records (their values are JSON) and CSV for classification rows."""
    own = {"jsonl": ".jsonl", "json": ".json", "parquet": ".parquet"}
    if ds.roles.schema == "text":
        own |= {"csv": ".csv", "tsv": ".tsv"}
    if ds.io.format not in own:
        return ".csv" if ds.roles.schema == "text" else ".jsonl"
    from dataqa.io.readers import COMPRESSIONS
    from dataqa.io.writers import OPENERS

    suffix = {kind: s for s, kind in COMPRESSIONS.items() if kind in OPENERS}  # writable ones
    packed = suffix.get(ds.io.compression or "", "")
    return own[ds.io.format] + ("" if ds.io.format == "parquet" else packed)


def _roles_like(ds, *, group: bool = True) -> dict:
    """`load` keywords that read another file the way `ds` was read."""
    if ds.roles.schema != "text":
        return {"schema": ds.roles.schema}
    out = {"text_col": ds.roles.text, "label_col": ds.roles.label}
    if group:
        out["group_col"] = ds.roles.group
    return out


def _augment_stage(spec, ds, ds_key, opts, seed, cache, progress, note):
    from dataqa.dataset import atomic_write_text, load, write_table

    if ds.roles.schema != "text":
        note("augment", "skipped", note="augmentation works on classification text only")
        return ds, ds_key, {"skipped": "augmentation works on classification text only"}

    try:
        from dataqa.augmentation import AugmentOptions, EdaRates, FilterOptions, augment
    except ImportError as err:
        note(
            "augment", "skipped", note=f"the augment stage is not available in this install ({err})"
        )
        return ds, ds_key, {"skipped": f"augment stage not importable: {err}"}
    _unknown(spec, opts, AUGMENT_KEYS, "stages.augment")
    raw_opts = dict(opts.get("options") or {})
    if isinstance(raw_opts.get("eda"), dict):
        eda_kw, _ = _dataclass_kwargs(spec, EdaRates, raw_opts["eda"], "stages.augment.options.eda")
        raw_opts["eda"] = EdaRates(**eda_kw)
    if isinstance(raw_opts.get("filter"), dict):
        f_kw, _ = _dataclass_kwargs(
            spec, FilterOptions, raw_opts["filter"], "stages.augment.options.filter"
        )
        raw_opts["filter"] = FilterOptions(**f_kw)
    a_kw, _ = _dataclass_kwargs(spec, AugmentOptions, raw_opts, "stages.augment.options")
    goal = {
        k: opts[k] for k in ("plan", "target", "per_class", "factor") if opts.get(k) is not None
    }
    if not goal:
        goal = {"target": "balance"}
    methods = opts.get("methods") or ["synonym"]
    ext = _ext(ds)
    key = _key(
        "augment",
        ds_key,
        methods,
        goal,
        {k: str(v) for k, v in a_kw.items()},
        {k: str(v) for k, v in raw_opts.items() if k in ("eda", "filter")},
        seed,
        ext,
    )
    folder = cache.path(f"augment-{key}")
    if cache.has(f"augment-{key}/stats.json"):
        stats = json.loads((folder / "stats.json").read_text(encoding="utf-8"))
        note("augment", "cached")
    else:
        t0 = time.perf_counter()
        new_ds, stats = augment(
            ds, methods, options=AugmentOptions(**a_kw), seed=seed, progress=progress, **goal
        )
        write_table(new_ds.frame, folder / f"train{ext}", source=new_ds.io)
        from dataqa.findings import to_jsonable

        atomic_write_text(folder / "stats.json", json.dumps(to_jsonable(stats), indent=1))
        note(
            "augment",
            "ran",
            time.perf_counter() - t0,
            note=f"{stats.get('rows_added', 0)} rows added",
        )
    out = load(
        folder / f"train{ext}",
        text_col=ds.roles.text,
        label_col=ds.roles.label,
        group_col=ds.roles.group,
    )
    out.source = ds.source
    return out, key, stats


def _finetune_stage(
    spec, raw, curated, test, opts, seed, cache, out, raw_key, cur_key, test_key, progress, note
):
    from dataqa.train.search import parse_space
    from dataqa.train.stage import finetune

    options, extra = _finetune_options(spec, opts, seed)
    space = extra.get("space")
    if space is not None:
        if not isinstance(space, dict):
            raise spec.error(
                "stages.finetune.space", "must map a hyperparameter to a list of values"
            )
        space = parse_space(
            [
                f"{k}={','.join(str(x) for x in (v if isinstance(v, list) else [v]))}"
                for k, v in space.items()
            ]
        )
    same = curated is raw
    key = _key("finetune", raw_key, cur_key, test_key, options.as_dict(), extra, seed)
    file = f"finetune-{key}.json"
    if cache.has(file):
        note("finetune", "cached")
        return Report.load(cache.path(file))
    t0 = time.perf_counter()
    report = finetune(
        [raw] if same else [raw, curated],
        test,
        names=["raw"] if same else ["raw", "curated"],
        model=extra.get("model"),
        options=options,
        search=extra.get("search"),
        space=space,
        trials=int(extra.get("trials", 8)),
        time_budget=extra.get("time_budget"),
        select_on=extra.get("select_on", "val_accuracy"),
        baseline=bool(extra.get("baseline", True)),
        audit_test=bool(extra.get("audit_test", True)),
        drop_leaked=True,  # the audit above reports leaked rows as errors; here they train nowhere
        work_dir=out / "finetune",
        tensorboard=bool(extra.get("tensorboard", True)),
        wandb=bool(extra.get("wandb", False)),
        cache_dir=cache.path("finetune-runs"),
        progress=progress,
    )
    report.save(cache.path(file))
    v = report.stats["finetune"].get("verdict")
    note(
        "finetune",
        "ran",
        time.perf_counter() - t0,
        note=f"{v['question']} {v['answer']}" if v else "one training set only",
    )
    return report


def _combine(
    before: Report,
    after: Report | None,
    ft: Report | None,
    stats_clean,
    stats_augment,
    log,
    spec,
    out,
) -> Report:
    findings = list(before.findings) + (list(ft.findings) if ft is not None else [])
    stats = dict(before.stats)
    if stats_clean is not None:
        stats["clean"] = stats_clean
    if stats_augment is not None:
        stats["augment"] = stats_augment
    if ft is not None:
        stats["finetune"] = ft.stats["finetune"]

    def side(r: Report | None) -> dict | None:
        if r is None:
            return None
        ds = r.stats.get("dataset", {})
        return {
            "path": r.meta.get("input", {}).get("path"),
            "rows": ds.get("rows"),
            "classes": ds.get("classes"),
            "counts": r.counts(),
            "label_counts": ds.get("label_counts"),
        }

    b, a = side(before), side(after)
    if a is not None:
        a["findings"] = _compact_findings(after)
    pipeline = {
        "name": spec.data.get("name"),
        "file": str(spec.path),
        "out": str(out),
        "stages": log,
        "before": b,
        "after": a,
    }
    if a is not None:
        pipeline["charts"] = [
            {
                "id": "pipeline-before-after",
                "type": "bar",
                "title": "Findings before and after curation",
                "x_label": "severity",
                "y_label": "findings",
                "data": {
                    "labels": [f"{s} before" for s in ("error", "warning", "info")]
                    + [f"{s} after" for s in ("error", "warning", "info")],
                    "values": [b["counts"]["by_severity"][s] for s in ("error", "warning", "info")]
                    + [a["counts"]["by_severity"][s] for s in ("error", "warning", "info")],
                },
            }
        ]
    stats["pipeline"] = pipeline
    meta = dict(before.meta)
    meta["command"] = "run"
    meta["pipeline"] = str(spec.path)
    return Report(findings=findings, stats=stats, meta=meta)


def _compact_findings(report: Report) -> list[dict]:
    """One entry per (severity, check) of a report: what its readiness verdict needs.

    The run's report carries the raw audit's findings in full; the curated set's are in
    after.json. These entries let the page answer "ready to fine-tune?" for the curated
    set without copying every row id.
    """
    groups: dict[tuple[str, str], dict] = {}
    for f in report.findings:
        g = groups.setdefault(
            (f.severity, f.check),
            {
                "check": f.check,
                "severity": f.severity,
                "message": f.message,
                "fix": f.fix,
                "count": 0,
                "rows": 0,
            },
        )
        g["count"] += 1
        g["rows"] += len(f.row_ids or [])
    return list(groups.values())


def _html(report: Report, before: Report, after: Report | None, out: Path) -> dict:
    outputs = {}
    try:
        from dataqa.report.html import write_html
    except ImportError:
        return outputs
    write_html(report, out / "report.html")
    outputs["html"] = str(out / "report.html")
    if after is not None:
        try:
            from dataqa.report.compare import write_comparison
        except ImportError:
            return outputs
        write_comparison(before, after, out / "compare.html", names=("raw", "curated"))
        outputs["compare_html"] = str(out / "compare.html")
    return outputs


def _summary(report: Report, log: list[dict], outputs: dict) -> str:
    lines = [f"{'stage':<14} {'status':<8} {'seconds':>7}  note"]
    for s in log:
        lines.append(f"{s['stage']:<14} {s['status']:<8} {s['seconds']:>7}  {s.get('note', '')}")
    p = report.stats["pipeline"]
    if p.get("after"):
        b, a = p["before"], p["after"]
        lines.append(
            f"\nrows: {b['rows']:,} raw -> {a['rows']:,} curated; findings "
            f"{sum(b['counts']['by_severity'].values())} -> {sum(a['counts']['by_severity'].values())}"
        )
    ft = report.stats.get("finetune")
    if ft:
        from dataqa.summary import format_finetune

        lines.append("")
        lines.append(
            format_finetune(
                Report(
                    findings=[f for f in report.findings if f.check.startswith("finetune")],
                    stats={"finetune": ft},
                )
            )
        )
    lines.append("")
    lines.extend(f"{k}: {v}" for k, v in outputs.items())
    return "\n".join(lines)


DEMO_PIPELINE = """\
# Written by `dataqa demo`: the whole loop on the demo data. Re-run it with
#   dataqa run {path}
# (stages whose inputs did not change are taken from the cache).
name: demo
out: loop
seed: {seed}
data:
  train: {train}
  test: {test}
  text_col: text
  label_col: label
  group_col: brand
stages:
  audit: {{}}
  clean: {{conflicts: labels, label_errors: relabel, label_unsure: quarantine}}
  augment: {{methods: [eda], target: balance}}
  finetune:
    model: tiny         # a small BERT trained from scratch: a quick, offline check
    device: cpu         # its defaults (lr 2e-3, 12 epochs of the raw set) learn; see README
    seeds: 3            # three runs per set: the verdict's interval covers seed noise
    max_length: 64
"""


def demo_loop(out_dir: Path, train_path: Path, test_path: Path, *, seed: int = 7) -> dict:
    """Write the demo's pipeline.yaml next to its data and run it (called by `dataqa demo`)."""
    import click

    from dataqa.dataset import atomic_write_text

    path = Path(out_dir) / "pipeline.yaml"
    text = DEMO_PIPELINE.format(
        path=path, seed=seed, train=Path(train_path).name, test=Path(test_path).name
    )
    atomic_write_text(path, text)
    click.echo(f"\nthe whole loop (audit -> clean -> augment -> finetune raw vs curated): {path}")
    result = run_pipeline(path, progress=True)
    click.echo(result["summary"])
    return result


def pipeline_json_schema() -> dict:
    """The JSON schema of a pipeline file, from the keys this module accepts and the stages'
    options models (`CleanOptions`, `TrainOptions`): one source of truth. Editors validate
    and complete pipeline YAML against it; `dataqa/schema/pipeline.schema.json` is this
    function's output."""
    from dataqa.engine import EngineOptions
    from dataqa.stages.policies import CleanOptions
    from dataqa.train.options import TrainOptions

    def loose(keys) -> dict:
        return {
            "type": "object",
            "additionalProperties": False,
            "properties": {k: {} for k in sorted(keys)},
        }

    def stage(schema: dict) -> dict:
        return {"oneOf": [{"type": "boolean"}, {"type": "null"}, schema]}

    clean = CleanOptions.model_json_schema()
    train = TrainOptions.model_json_schema()
    train["properties"].update({k: {} for k in sorted(FINETUNE_EXTRA)})
    train.pop("required", None)
    data = loose(DATA_KEYS)
    data["required"] = ["train"]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://dataqa.invalid/schema/pipeline.json",
        "title": "dataqa pipeline file",
        "description": "What `dataqa run` reads (rules/pipeline.example.yaml).",
        "type": "object",
        "required": ["data"],
        "additionalProperties": False,
        "properties": {
            "engine": {
                "oneOf": [
                    {"type": "string", "enum": ["local", "dask"]},
                    EngineOptions.model_json_schema(),
                ]
            },
            "name": {"type": "string"},
            "out": {"type": "string"},
            "seed": {"type": "integer"},
            "data": data,
            "stages": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "audit": stage(loose(AUDIT_KEYS)),
                    "clean": stage(clean),
                    "augment": stage(loose(AUGMENT_KEYS)),
                    "finetune": stage(train),
                },
            },
        },
    }
