"""Bias and spurious cues: things other than the content that predict the label.

Four screens, each a plain function over the label codes and one kind of evidence:

- **Group skew** (needs `--group-col`): the label distribution per group; a chi-square
  test of group x label with Cramér's V (bias-corrected), then each group against the
  rest, Benjamini-Hochberg (or Holm) corrected. A group is *skewed* when its corrected
  p-value is under `alpha` and its label mix is at least `min_skew` (total variation
  distance) away from the median group's - measured against the median so that one
  very skewed group does not make all the others look skewed the other way. The
  labels it over-represents are those with an adjusted standardised residual of 3 or
  more. Groups much smaller than the average are *under-represented*.
- **Surface cues**: typo rate, length, share of capitals, punctuation, exclamation
  marks, URLs, digits, other-language text (and the group) - features that should not
  decide the label. Each is scored on its own by one-vs-rest ROC AUC per class (a
  rank statistic: no model to fit, so nothing to over-fit), averaged over classes by
  prevalence into an "AUC-equivalent strength" (0.5 = no information, 1.0 = the cue
  alone separates the classes). A permutation baseline (labels shuffled
  `permutations` times; ranks do not change, so each shuffle costs one bincount)
  gives the chance level and a p-value that accounts for picking the direction per
  class. Each cue also gets its best single-threshold rule (`cue >= t => label`)
  with a Wilson lower bound on its precision, which catches a cue planted in one
  class of many.
- **Shortcut tokens**: entity-like tokens (brands, names) that alone predict a label,
  judged by the Wilson lower bound of token => label precision at a minimum support.
  Entities come from spaCy NER when a spaCy model is installed (or named with
  `spacy_model`), else from a capitalisation heuristic: words capitalised in the
  middle of a sentence, kept when most of their occurrences are capitalised.
- **Confounding** (needs a group column): a skewed group whose rows also carry a
  surface cue - the case of one brand's reviews having more typos *and* more negative
  labels, so that a model learns "brand/typos => negative". The finding shows per-group
  cue means, per-group label rates, the cue's association with the label over the
  whole set and within groups (if it vanishes within groups, the cue is a proxy for
  the group), and a concrete fix: rows per label to add to that group, re-sampling,
  or correcting the typos.

Every finding lists the rows that carry the problem (the group's rows with the
over-represented label, the rows a cue rule or token picks out), so `clean` and the
report can go from a finding to the rows.
"""

from __future__ import annotations

import importlib.util
import math
import re
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from dataqa.checks.base import Check, CheckResult, Context
from dataqa.dataset import Dataset
from dataqa.findings import Finding
from dataqa.fixes import Augment, Kind, Review
from dataqa.options import Options
from dataqa.text import LANGUAGE_DEFAULTS, UniqueText, identify_languages, typo_rate

CUES = (
    "typo_rate",
    "length",
    "capitals",
    "punctuation",
    "exclamation",
    "url",
    "digits",
    "other_language",
)
CUE_LABELS = {
    "typo_rate": "typo rate",
    "length": "length (words)",
    "capitals": "share of capitals",
    "punctuation": "share of punctuation",
    "exclamation": "exclamation marks",
    "url": "URLs",
    "digits": "share of digits",
    "other_language": "other-language text",
    "group": "group",
}
URL_RE = r"(?i)\b(?:https?://|www\.)\S+"
TOKEN_RE = r"[A-Za-z][A-Za-z0-9]*(?:[&-][A-Za-z0-9]+)*"
SENTENCE_START_RE = r"(^|[.!?:;]\s+|[\"(\[]\s*|\n\s*)([A-Z])"
NER_LABELS = (
    "ORG",
    "PRODUCT",
    "PERSON",
    "GPE",
    "NORP",
    "FAC",
    "LOC",
    "WORK_OF_ART",
    "EVENT",
    "LAW",
)
SPACY_MODELS = ("en_core_web_sm", "en_core_web_md", "en_core_web_lg", "en_core_web_trf")
MIN_CLASS_ROWS = 5
MAX_CHART_ROWS = 30
MAX_CONFOUND_GROUPS = 20


class BiasOptions(Options):
    """Options of the bias check."""

    alpha: float = Field(0.01, gt=0, lt=1, description="Significance after correction.")
    correction: Literal["bh", "holm"] = Field(
        "bh", description="Multiple testing: Benjamini-Hochberg or Holm."
    )
    permutations: int = Field(1000, ge=100, description="Label shuffles for the cue baseline.")
    cue_warn: float = Field(0.65, gt=0.5, le=1, description="AUC of one cue: warning.")
    cue_error: float = Field(0.8, gt=0.5, le=1, description="... error.")
    rule_min_precision: float = Field(
        0.8, gt=0, le=1, description="Wilson lower bound of a cue/token rule's precision."
    )
    rule_min_lift: float = Field(0.25, ge=0, le=1, description="... over the label's base rate.")
    min_support: int = Field(20, ge=1, description="Rows a cue rule or token must cover.")
    min_group_rows: int = Field(20, ge=1, description="Smaller groups are not tested for skew.")
    min_skew: float = Field(
        0.1, ge=0, le=1, description="Total variation distance of a group from the median."
    )
    min_group_share: float = Field(
        0.2, gt=0, le=1, description="Under-represented: fewer rows than this x mean group."
    )
    cue_group_effect: float = Field(
        0.15, ge=0, le=0.5, description="|AUC - 0.5| of a cue between a group and the rest."
    )
    entities: Literal["auto", "heuristic", "spacy", "none"] = Field(
        "auto", description="How shortcut entities are found."
    )
    spacy_model: str | None = Field(
        None, description="spaCy package or path (auto: en_core_web_*)."
    )
    ner_max_rows: int = Field(20000, ge=100, description="spaCy NER runs on a sample above this.")
    max_rows: int = Field(200000, ge=1000, description="Cue statistics on a sample above this.")
    max_token_findings: int = Field(20, ge=0, description="Most shortcut-token findings.")


KINDS = (
    Kind("bias.surface_cue", "warning", Augment, "a surface feature that predicts the label"),
    Kind("bias.group_skew", "warning", Augment, "a group whose label mix differs"),
    Kind("bias.group_underrepresented", "info", Augment, "a group with few rows"),
    Kind("bias.confound", "warning", Augment, "a group whose rows carry a cue and a label"),
    Kind("bias.shortcut_token", "warning", Review, "a token or entity that predicts the label"),
)


class BiasCheck(Check):
    name = "bias"
    needs = ("text", "label")

    Options = BiasOptions
    kinds = KINDS
    reusable = True

    def run(self, ds: Dataset, ctx: Context) -> CheckResult:
        p = self.params
        if p["correction"] not in ("bh", "holm"):
            from dataqa.errors import DataQAError

            raise DataQAError(
                f"bias.correction must be bh or holm, not {p['correction']!r}",
                hint="e.g. -s bias.correction=holm",
            )
        if not isinstance(p["permutations"], int) or p["permutations"] < 19:
            from dataqa.errors import DataQAError

            raise DataQAError(
                f"bias.permutations must be an integer of at least 19, not {p['permutations']!r}",
                hint="a permutation p-value needs >= 19 shuffles to reach 0.05; the default is 1000",
            )
        mode = self._entity_mode()
        labels = ds.labels
        present = labels.dropna()
        stats: dict[str, Any] = {"rows_analysed": len(present)}
        findings: list[Finding] = []
        if present.nunique() < 2 or len(present) < 2 * MIN_CLASS_ROWS:
            stats["skipped"] = "fewer than two labels (or too few rows) to relate anything to"
            return CheckResult(findings, stats)
        text = ds.text
        typos = ctx.cached("typo_rate", lambda: typo_rate(text))
        other_lang = other_language(ds, typos, ctx)
        cues_all = surface_cues(text, typos, other_lang)
        cues = cues_all.loc[present.index]
        codes, classes = pd.factorize(present, sort=True)
        rng = np.random.default_rng(ctx.seed)
        charts: list[dict] = []

        groups = None
        if ds.roles.group is not None:
            groups = ds.groups.loc[present.index]
            if groups.notna().sum() == 0:
                groups = None

        cue_rows = pd.Index(present.index)
        if len(present) > p["max_rows"]:
            cue_rows = pd.Index(
                np.sort(rng.choice(present.index.to_numpy(), p["max_rows"], replace=False))
            )
            stats["cue_sample"] = f"cue statistics on a seeded sample of {p['max_rows']:,} rows"
        pos = present.index.get_indexer(cue_rows)
        cue_table = cue_strengths(
            cues.iloc[pos],
            codes[pos],
            len(classes),
            permutations=p["permutations"],
            rng=rng,
            min_support=p["min_support"],
        )
        cue_table["p_adjusted"] = adjust(cue_table["p_value"].to_numpy(), p["correction"])
        if groups is not None:
            gs = group_strength(groups, codes, len(classes), rng)
            if gs is not None:
                group_row = pd.DataFrame(
                    {"strength": [gs], "p_value": [np.nan], "constant": [False]}, index=["group"]
                )
                cue_table = pd.concat([cue_table, group_row.astype(object)])
        stats["surface_cues"] = _cue_stats(cue_table, classes)
        findings += cue_findings(cue_table, cues, present, codes, classes, p)
        charts.append(_cue_chart(cue_table))

        if groups is not None:
            gstats, gfindings, skewed = group_skew(groups, present, p)
            stats["groups"] = gstats
            findings += gfindings
            charts.append(_group_heatmap(groups, present))
            cstats, cfindings = confounding(groups, present, cues, skewed, gstats, p)
            stats["confounding"] = cstats
            findings += cfindings

        mode, entity_rows, note = self._entities(mode, text.loc[present.index], ctx)
        stats["entities"] = {"mode": mode, "note": note}
        if entity_rows is not None and len(entity_rows):
            tstats, tfindings = shortcut_tokens(entity_rows, present, groups, p)
            stats["shortcut_tokens"] = tstats
            findings += tfindings
        stats["charts"] = [c for c in charts if c]
        return CheckResult(findings, stats)

    def _entity_mode(self) -> tuple[str, str | None]:
        """(heuristic | spacy | none, spaCy model); bad settings fail before any work."""
        from dataqa.errors import DataQAError

        mode = self.params["entities"]
        if mode not in ("auto", "heuristic", "spacy", "none"):
            raise DataQAError(
                f"bias.entities must be auto, heuristic, spacy or none, not {mode!r}",
                hint="e.g. -s bias.entities=heuristic",
            )
        if mode in ("none", "heuristic"):
            return mode, None
        model = self.params["spacy_model"] or next(
            (m for m in SPACY_MODELS if importlib.util.find_spec(m)), None
        )
        if model is None and mode == "spacy":
            raise DataQAError(
                "bias.entities=spacy needs a spaCy model, and none is installed",
                hint="pip install an English spaCy model (e.g. en_core_web_sm), name one with "
                "-s bias.spacy_model=NAME_OR_PATH, or use -s bias.entities=heuristic",
            )
        if model is not None and importlib.util.find_spec("spacy") is None:
            if mode == "spacy":
                raise DataQAError(
                    "bias.entities=spacy needs the spacy package", hint="pip install 'dataqa[nlp]'"
                )
            model = None
        return ("spacy", model) if model is not None else ("heuristic", None)

    def _entities(
        self, mode: tuple[str, str | None], text: pd.Series, ctx: Context
    ) -> tuple[str, pd.DataFrame | None, str]:
        kind, model = mode
        if kind == "none":
            return "none", None, "entity scan turned off"
        if kind == "spacy":
            rows, note = spacy_entities(text, model, self.params["ner_max_rows"], ctx.seed)
            return "spacy", rows, note
        return "heuristic", capitalised_entities(text), "capitalisation heuristic (no spaCy model)"


# ---- statistics helpers ----------------------------------------------------------------


def adjust(p_values: np.ndarray, method: str = "bh") -> np.ndarray:
    """Benjamini-Hochberg (false discovery rate) or Holm (family-wise) adjusted p-values.

    NaN p-values (tests not run) stay NaN and do not count towards the family size.
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return out
    q = p[ok]
    order = np.argsort(q, kind="stable")
    ranked = q[order]
    if method == "holm":
        adj = np.maximum.accumulate((m - np.arange(m)) * ranked)
    else:
        adj = ranked * m / np.arange(1, m + 1)
        adj = np.minimum.accumulate(adj[::-1])[::-1]
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out


def wilson_lower(hits: np.ndarray, n: np.ndarray, z: float = 1.96) -> np.ndarray:
    """Lower end of the Wilson score interval for a proportion (95% by default)."""
    hits = np.asarray(hits, dtype=float)
    n = np.maximum(np.asarray(n, dtype=float), 1.0)
    phat = hits / n
    denom = 1 + z * z / n
    centre = phat + z * z / (2 * n)
    margin = z * np.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n))
    return (centre - margin) / denom


def class_aucs(ranks: np.ndarray, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """One-vs-rest ROC AUC of a feature for each class, from its (tie-averaged) ranks."""
    n_total = len(codes)
    n = np.bincount(codes, minlength=k).astype(float)
    rank_sum = np.bincount(codes, weights=ranks, minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (rank_sum - n * (n + 1) / 2) / (n * (n_total - n))
    return auc, n


def _strength(auc: np.ndarray, n: np.ndarray, valid: np.ndarray) -> float:
    w = n[valid]
    if w.sum() == 0:
        return 0.0
    return float((w * np.abs(auc[valid] - 0.5)).sum() / w.sum())


def cramers_v(table: np.ndarray) -> tuple[float, float, float, int]:
    """(chi2, p, bias-corrected Cramér's V (Bergsma 2013), dof) of a contingency table."""
    from scipy.stats import chi2_contingency

    table = np.asarray(table, dtype=float)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    r, c = table.shape
    if r < 2 or c < 2:
        return 0.0, 1.0, 0.0, 0
    chi2, pval, dof, _ = chi2_contingency(table, correction=False)
    n = table.sum()
    phi2 = max(chi2 / n - (c - 1) * (r - 1) / (n - 1), 0.0)
    rc = r - (r - 1) ** 2 / (n - 1)
    cc = c - (c - 1) ** 2 / (n - 1)
    denom = min(rc - 1, cc - 1)
    v = math.sqrt(phi2 / denom) if denom > 0 else 0.0
    return float(chi2), float(pval), float(v), int(dof)


# ---- surface cues ----------------------------------------------------------------------


def surface_cues(text: pd.Series, typos: pd.DataFrame, other_lang: pd.Series) -> pd.DataFrame:
    """One numeric column per cue, indexed like `text`."""
    chars = text.str.len().clip(lower=1)
    letters = text.str.count(r"[^\W\d_]").clip(lower=1)
    return pd.DataFrame(
        {
            "typo_rate": typos["typo_rate"].reindex(text.index, fill_value=0.0),
            "length": text.str.count(r"\S+").astype(float),
            "capitals": text.str.count(r"[A-Z]") / letters,
            "punctuation": text.str.count(r"[^\w\s]") / chars,
            "exclamation": text.str.count("!").astype(float),
            "url": text.str.contains(URL_RE, regex=True).astype(float),
            "digits": text.str.count(r"\d") / chars,
            "other_language": other_lang.reindex(text.index, fill_value=0.0).astype(float),
        },
        index=text.index,
    )


def other_language(ds: Dataset, typos: pd.DataFrame, ctx: Context) -> pd.Series:
    """1.0 for rows confidently in another language than the dataset's main one: the
    same verdicts as the hygiene check (`dataqa.text.identify_languages`)."""
    text = ds.text
    u = ctx.cached("unique_text", lambda: UniqueText.of(text))
    d = LANGUAGE_DEFAULTS
    langs = ctx.cached(
        ("languages", None, d["min_prob"], d["min_words"], d["min_letters"]),
        lambda: identify_languages(u, typos, (text.str.strip() != "").to_numpy(), seed=ctx.seed),
    )
    return pd.Series(u.rows(langs.other.index).astype(float), index=text.index)


def best_rule(x: np.ndarray, codes: np.ndarray, k: int, min_support: int) -> dict[str, Any] | None:
    """The single-threshold rule `x >= t` or `x <= t` => one class with the highest
    Wilson lower bound on its precision, among rules covering at least `min_support` rows."""
    n_total = len(x)
    prior = np.bincount(codes, minlength=k) / n_total
    thresholds = np.unique(np.quantile(x, np.linspace(0.01, 0.99, 99)))
    best = None
    for t in thresholds:
        for side, mask in (("ge", x >= t), ("le", x <= t)):
            support = int(mask.sum())
            if support < min_support or support == n_total:
                continue
            counts = np.bincount(codes[mask], minlength=k)
            lb = wilson_lower(counts, np.full(k, support))
            c = int(np.argmax(lb - prior))
            if best is None or lb[c] - prior[c] > best["lb"] - best["prior"]:
                best = {
                    "side": side,
                    "threshold": float(t),
                    "class": c,
                    "support": support,
                    "hits": int(counts[c]),
                    "precision": float(counts[c] / support),
                    "lb": float(lb[c]),
                    "prior": float(prior[c]),
                }
    return best


def cue_strengths(
    cues: pd.DataFrame,
    codes: np.ndarray,
    k: int,
    *,
    permutations: int,
    rng: np.random.Generator,
    min_support: int,
) -> pd.DataFrame:
    """Per cue: AUC-equivalent strength, chance level, permutation p-value, best class and rule."""
    from scipy.stats import rankdata

    n_total = len(codes)
    n = np.bincount(codes, minlength=k).astype(float)
    valid = (n >= MIN_CLASS_ROWS) & (n_total - n >= MIN_CLASS_ROWS)
    w = n[valid] / n[valid].sum() if valid.any() else n[valid]
    names = [c for c in cues.columns]
    xs = {name: cues[name].to_numpy(dtype=float) for name in names}
    ranks = {name: rankdata(x) for name, x in xs.items() if np.nanmax(x) > np.nanmin(x)}
    null = {name: np.empty(permutations) for name in ranks}
    # all shuffles of a block at once: one bincount over (shuffle, class) cells per cue
    block = max(1, 2_000_000 // max(n_total, 1))
    denom = n * (n_total - n)
    for start in range(0, permutations, block):
        size = min(block, permutations - start)
        chunk = np.stack([rng.permutation(codes) for _ in range(size)])
        cells = (np.arange(len(chunk))[:, None] * k + chunk).ravel()
        for name, r in ranks.items():
            sums = np.bincount(cells, weights=np.tile(r, len(chunk)), minlength=len(chunk) * k)
            with np.errstate(divide="ignore", invalid="ignore"):
                auc = (sums.reshape(len(chunk), k) - n * (n + 1) / 2) / denom
            null[name][start : start + len(chunk)] = np.abs(auc[:, valid] - 0.5) @ w
    rows = {}
    for name in names:
        if name not in ranks:
            rows[name] = {"strength": 0.5, "chance": 0.5, "p_value": 1.0, "constant": True}
            continue
        auc, _ = class_aucs(ranks[name], codes, k)
        s_obs = _strength(auc, n, valid)
        dev = np.where(valid, np.abs(auc - 0.5), -1.0)
        c = int(np.argmax(dev))
        rows[name] = {
            "strength": 0.5 + s_obs,
            "chance": 0.5 + float(null[name].mean()),
            "p_value": (1 + int((null[name] >= s_obs - 1e-12).sum())) / (permutations + 1),
            "best_class": c,
            "best_class_auc": float(auc[c]),
            "rule": best_rule(xs[name], codes, k, min_support),
            "constant": False,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def group_strength(
    groups: pd.Series, codes: np.ndarray, k: int, rng: np.random.Generator, folds: int = 5
) -> float | None:
    """AUC-equivalent strength of the group as a cue, from out-of-fold label rates per group
    (so a group seen once cannot predict its own label)."""
    from scipy.stats import rankdata

    g = groups.fillna("\x00missing").to_numpy()
    gcodes, _ = pd.factorize(g)
    n_groups = gcodes.max() + 1
    if n_groups < 2:
        return None
    fold = rng.integers(0, folds, len(codes))
    enc = np.zeros((len(codes), k))
    prior = np.bincount(codes, minlength=k) / len(codes)
    for f in range(folds):
        tr, te = fold != f, fold == f
        table = np.zeros((n_groups, k))
        np.add.at(table, (gcodes[tr], codes[tr]), 1.0)
        rates = (table + prior) / (table.sum(axis=1, keepdims=True) + 1.0)
        enc[te] = rates[gcodes[te]]
    n = np.bincount(codes, minlength=k).astype(float)
    valid = (n >= MIN_CLASS_ROWS) & (len(codes) - n >= MIN_CLASS_ROWS)
    auc = np.full(k, 0.5)
    for c in np.flatnonzero(valid):
        ranks = rankdata(enc[:, c])
        auc[c] = ((ranks[codes == c]).sum() - n[c] * (n[c] + 1) / 2) / (n[c] * (len(codes) - n[c]))
    return 0.5 + _strength(auc, n, valid)


def _rule_rows(x: pd.Series, present: pd.Series, rule: dict, classes: pd.Index) -> pd.Index:
    hit = x >= rule["threshold"] if rule["side"] == "ge" else x <= rule["threshold"]
    return present.index[(hit & (present == classes[rule["class"]])).to_numpy()]


def cue_findings(
    table: pd.DataFrame,
    cues: pd.DataFrame,
    present: pd.Series,
    codes: np.ndarray,
    classes: pd.Index,
    p: dict,
) -> list[Finding]:
    out = []
    for name, row in table.iterrows():
        if name == "group" or row.get("constant", False):
            continue
        strength, padj = float(row["strength"]), float(row["p_adjusted"])
        rule = row.get("rule")
        rule = rule if isinstance(rule, dict) else None
        rule_ok = (
            rule is not None
            and rule["lb"] >= p["rule_min_precision"]
            and rule["lb"] - rule["prior"] >= p["rule_min_lift"]
        )
        significant = padj < p["alpha"]
        if significant and strength >= p["cue_error"]:
            severity = "error"
        elif (significant and strength >= p["cue_warn"]) or rule_ok:
            severity = "warning"
        else:
            continue
        label = CUE_LABELS[name]
        best = classes[int(row["best_class"])]
        msg = (
            f"{label} alone predicts the label: AUC-equivalent strength {strength:.2f} "
            f"(chance {float(row['chance']):.2f}, permutation p={padj:.3g} adjusted); "
            f"strongest for {best!r} (one-vs-rest AUC {float(row['best_class_auc']):.2f})"
        )
        rows: pd.Index = pd.Index([])
        evidence: dict[str, Any] = {
            "cue": name,
            "strength": strength,
            "chance": float(row["chance"]),
            "p_value": float(row["p_value"]),
            "p_adjusted": padj,
            "best_class": best,
            "best_class_auc": float(row["best_class_auc"]),
        }
        if rule is not None:
            rule_label = classes[rule["class"]]
            sign = ">=" if rule["side"] == "ge" else "<="
            evidence["rule"] = {
                **{k: v for k, v in rule.items() if k != "class"},
                "label": rule_label,
                "text": f"{name} {sign} {rule['threshold']:.4g} => {rule_label}",
            }
            msg += (
                f"; rule '{name} {sign} {rule['threshold']:.4g} => {rule_label}' holds for "
                f"{rule['hits']} of {rule['support']} rows (precision {rule['precision']:.0%}, "
                f"base rate {rule['prior']:.0%})"
            )
            rows = _rule_rows(cues[name], present, rule, classes)
        fix = {
            "action": "augment",
            "cue": name,
            "suggestion": (
                "remove the cue from the text (e.g. normalise it in clean), or add rows of the "
                "other labels that carry it, so that it no longer decides the label"
            ),
        }
        if name == "typo_rate":
            fix["alternatives"] = ["correct_typos"]
        out.append(
            Finding(
                check="bias.surface_cue",
                severity=severity,
                message=msg,
                row_ids=list(rows),
                evidence=evidence,
                fix=fix,
            )
        )
    return out


# ---- groups ------------------------------------------------------------------------------


def group_skew(
    groups: pd.Series, labels: pd.Series, p: dict
) -> tuple[dict, list[Finding], list[dict]]:
    """Label distribution per group, the overall test, and one test per group against the rest."""
    from scipy.stats import chi2_contingency

    known = groups.notna()
    g, y = groups[known], labels[known]
    table = pd.crosstab(g, y)
    sizes = table.sum(axis=1).sort_values(ascending=False)
    table = table.loc[sizes.index]
    tested = sizes[sizes >= p["min_group_rows"]].index
    chi2, pval, v, dof = cramers_v(table.loc[tested].to_numpy())
    stats: dict[str, Any] = {
        "groups": int(len(sizes)),
        "rows_without_group": int((~known).sum()),
        "sizes": {str(k): int(n) for k, n in sizes.head(200).items()},
        "chi2": chi2,
        "dof": dof,
        "p_value": pval,
        "cramers_v": v,
        "tested_groups": int(len(tested)),
        "label_rates": {
            str(k): {str(c): round(float(r), 4) for c, r in row.items()}
            for k, row in table.head(MAX_CHART_ROWS)
            .div(table.head(MAX_CHART_ROWS).sum(axis=1), axis=0)
            .iterrows()
        },
    }
    findings: list[Finding] = []
    per_group = []
    # the effect is measured against the median group, so that one very skewed group
    # does not make every other group look skewed the other way
    rates_all = table.loc[tested].div(table.loc[tested].sum(axis=1), axis=0)
    reference = rates_all.median(axis=0) if len(tested) >= 3 else None
    stats["reference"] = "the median group" if reference is not None else "the other groups"
    for grp in tested:
        inside = table.loc[grp].to_numpy(dtype=float)
        rest = table.drop(index=grp).sum(axis=0).to_numpy(dtype=float)
        two = np.vstack([inside, rest])
        two = two[:, two.sum(axis=0) > 0]
        if two.shape[1] < 2 or rest.sum() == 0:
            continue
        _, pg, _, _ = chi2_contingency(two, correction=False)
        rate_in = inside / inside.sum()
        rate_rest = rest / rest.sum()
        ref = rate_rest if reference is None else reference.to_numpy(dtype=float)
        ref = ref / ref.sum() if ref.sum() > 0 else rate_rest
        diff = rate_in - ref
        # labels the group over-represents: more than the reference, and a cell of the
        # group-vs-rest table with an adjusted standardised residual of 3 or more
        z = _adjusted_residuals(np.vstack([inside, rest]))[0]
        over = [int(i) for i in np.argsort(-diff, kind="stable") if diff[i] > 0 and z[i] >= 3]
        over = over or [int(np.argmax(diff))]
        c = over[0]
        per_group.append(
            {
                "group": grp,
                "rows": int(inside.sum()),
                "p_value": float(pg),
                "cramers_v": cramers_v(np.vstack([inside, rest]))[2],
                # total variation distance between the group's label mix and the reference
                "skew": float(0.5 * np.abs(diff).sum()),
                "label": table.columns[c],
                "labels": [table.columns[i] for i in over],
                "rate": float(rate_in[over].sum()),
                "rate_reference": float(ref[over].sum()),
                "rate_rest": float(rate_rest[over].sum()),
                "rates": dict(zip(map(str, table.columns), rate_in.round(4).tolist(), strict=True)),
                "rates_reference": dict(
                    zip(map(str, table.columns), ref.round(4).tolist(), strict=True)
                ),
            }
        )
    padj = adjust(np.array([r["p_value"] for r in per_group]), p["correction"])
    skewed = []
    for r, pa in zip(per_group, padj, strict=True):
        r["p_adjusted"] = float(pa)
        if pa < p["alpha"] and r["skew"] >= p["min_skew"]:
            skewed.append(r)
    stats["per_group"] = [
        {k: v for k, v in r.items() if k not in ("rates", "rates_reference")}
        for r in per_group[:200]
    ]
    stats["skewed_groups"] = [str(r["group"]) for r in skewed]
    for r in skewed:
        grp, over = r["group"], r["labels"]
        rows = g.index[((g == grp) & y.isin(over)).to_numpy()]
        to_add = _rows_to_match(
            table.loc[grp], pd.Series(r["rates_reference"], index=table.columns)
        )
        findings.append(
            Finding(
                check="bias.group_skew",
                severity="warning",
                message=(
                    f"group {grp!r} over-represents {_names(over)}: {r['rate']:.0%} of its rows "
                    f"against {r['rate_reference']:.0%} in {stats['reference']} "
                    f"({r['rate_rest']:.0%} in the other groups pooled); label mix differs by "
                    f"{r['skew']:.2f} (total variation distance), chi-square p="
                    f"{r['p_adjusted']:.3g} {'BH' if p['correction'] == 'bh' else 'Holm'}-adjusted, "
                    f"Cramér's V {r['cramers_v']:.2f}: a model can learn "
                    f"'{grp} => {over[0]}'"
                ),
                row_ids=list(rows),
                evidence={
                    **{k: v for k, v in r.items()},
                    "overall_cramers_v": v,
                    "overall_p_value": pval,
                    "rows_to_add": to_add,
                },
                fix={
                    "action": "augment",
                    "group": grp,
                    "labels": to_add,
                    "alternatives": ["resample"],
                },
            )
        )
    mean_size = sizes.mean()
    small = sizes[sizes < p["min_group_share"] * mean_size]
    stats["underrepresented"] = {str(k): int(n) for k, n in small.head(200).items()}
    if len(small) and len(sizes) > 1:
        rows = g.index[g.isin(small.index).to_numpy()]
        findings.append(
            Finding(
                check="bias.group_underrepresented",
                severity="info",
                message=(
                    f"{len(small)} of {len(sizes)} groups have fewer than "
                    f"{p['min_group_share']:.0%} of the mean group size ({mean_size:.0f} rows): "
                    + ", ".join(f"{k!r} ({n})" for k, n in small.head(5).items())
                    + (" ..." if len(small) > 5 else "")
                ),
                row_ids=list(rows),
                evidence={
                    "groups": {str(k): int(n) for k, n in small.head(100).items()},
                    "mean_group_rows": float(mean_size),
                },
                fix={"action": "augment", "groups": [str(k) for k in small.index[:100]]},
            )
        )
    return stats, findings, skewed


def _adjusted_residuals(table: np.ndarray) -> np.ndarray:
    """Haberman's adjusted standardised residuals of a contingency table (~N(0, 1) under
    independence), so one cell can be read as "more than chance"."""
    table = np.asarray(table, dtype=float)
    n = table.sum()
    rows = table.sum(axis=1, keepdims=True)
    cols = table.sum(axis=0, keepdims=True)
    expected = rows * cols / n
    var = expected * (1 - rows / n) * (1 - cols / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (table - expected) / np.sqrt(var)
    return np.nan_to_num(z)


def _names(labels: list, shown: int = 3) -> str:
    out = ", ".join(repr(str(x)) for x in labels[:shown])
    return out + (f" (+{len(labels) - shown} more)" if len(labels) > shown else "")


def _rows_to_match(inside: pd.Series, rest: pd.Series) -> dict[str, int]:
    """Rows per label to add to a group so its label mix matches the other groups'."""
    share = rest / rest.sum()
    ok = share > 0
    scale = float((inside[ok] / share[ok]).max())
    want = np.ceil(scale * share - 1e-9)
    add = (want - inside).clip(lower=0).astype(int)
    return {str(k): int(v) for k, v in add.items() if v > 0}


def confounding(
    groups: pd.Series,
    labels: pd.Series,
    cues: pd.DataFrame,
    skewed: list[dict],
    gstats: dict,
    p: dict,
) -> tuple[dict, list[Finding]]:
    """Skewed groups whose rows also differ on a surface cue that then predicts the label."""
    from scipy.stats import mannwhitneyu

    known = groups.notna()
    g, y, X = groups[known], labels[known], cues.loc[known[known].index]
    tests = []
    # the most skewed groups first; beyond MAX_CONFOUND_GROUPS the group skew findings stand alone
    for r in sorted(skewed, key=lambda r: -r["skew"])[:MAX_CONFOUND_GROUPS]:
        inside = (g == r["group"]).to_numpy()
        target = y.isin(r["labels"]).to_numpy()
        for cue in X.columns:
            x = X[cue].to_numpy(dtype=float)
            if x.min() == x.max():
                continue
            u_g, p_g = mannwhitneyu(x[inside], x[~inside], alternative="two-sided")
            auc_g = u_g / (inside.sum() * (~inside).sum())
            sign = 1.0 if auc_g >= 0.5 else -1.0
            u_y, p_y = mannwhitneyu(x[target], x[~target], alternative="two-sided")
            auc_y = u_y / (target.sum() * (~target).sum())
            tests.append(
                {
                    "group": r["group"],
                    "label": r["label"],
                    "labels": r["labels"],
                    "cue": cue,
                    "auc_group": float(auc_g),
                    "p_group": float(p_g),
                    "auc_label": float(auc_y if sign > 0 else 1 - auc_y),
                    "p_label": float(p_y),
                    "auc_within_groups": _within_group_auc(x, target, g.to_numpy(), sign),
                    "sign": sign,
                    "skew": r,
                }
            )
    if not tests:
        return {"tested": 0, "confounds": []}, []
    pg = adjust(np.array([t["p_group"] for t in tests]), p["correction"])
    py = adjust(np.array([t["p_label"] for t in tests]), p["correction"])
    findings = []
    confounds = []
    means = X.groupby(g.to_numpy()).mean()
    for t, a, b in zip(tests, pg, py, strict=True):
        effect = abs(t["auc_group"] - 0.5)
        if not (a < p["alpha"] and effect >= p["cue_group_effect"]):
            continue
        if not (b < p["alpha"] and t["auc_label"] > 0.5):
            continue
        grp, label, cue, skew = t["group"], t["label"], t["cue"], t["skew"]
        names = _names(t["labels"])
        x = X[cue]
        inside = g == grp
        rest = x[~inside]
        if t["sign"] > 0:
            cut = float(rest.quantile(0.9))
            carriers = x.index[(inside & (x > cut)).to_numpy()]
        else:
            cut = float(rest.quantile(0.1))
            carriers = x.index[(inside & (x < cut)).to_numpy()]
        strong = effect >= 0.3 and skew["skew"] >= 0.2
        cue_means = {str(k): round(float(v), 4) for k, v in means[cue].head(MAX_CHART_ROWS).items()}
        to_add = _rows_to_match(
            pd.Series(skew["rates"]) * skew["rows"], pd.Series(skew["rates_reference"])
        )
        within = t["auc_within_groups"]
        link = (
            "the link runs through the group"
            if within is not None and within - 0.5 < 0.5 * (t["auc_label"] - 0.5)
            else "the cue is linked to the label within groups too"
        )
        fix_alts = ["resample", f"add {CUE_LABELS[cue]} to rows of the other labels"]
        if cue == "typo_rate":
            fix_alts.insert(0, "correct_typos")
        confounds.append({k: v for k, v in t.items() if k != "skew"} | {"rows": len(carriers)})
        adds = ", ".join(f"{n} {lab!r}" for lab, n in to_add.items())
        findings.append(
            Finding(
                check="bias.confound",
                severity="error" if strong else "warning",
                message=(
                    f"confound: {grp!r} rows have a {'higher' if t['sign'] > 0 else 'lower'} "
                    f"{CUE_LABELS[cue]} (mean "
                    f"{float(x[inside].mean()):.3g} vs {float(rest.mean()):.3g}, group-vs-rest AUC "
                    f"{t['auc_group']:.2f}) and more {names} labels ({skew['rate']:.0%} vs "
                    f"{skew['rate_reference']:.0%}), so a model can learn '{grp}/{cue} => {label}'. "
                    f"Over the whole set {CUE_LABELS[cue]} predicts {names} with AUC "
                    f"{t['auc_label']:.2f}; within groups "
                    + (f"{within:.2f}" if within is not None else "n/a")
                    + f" ({link}). Fix: add {adds or 'rows of the other labels'} to {grp!r} "
                    "(augment the other side), re-sample"
                    + (
                        ", or correct the typos (dataqa clean --fix-typos)"
                        if cue == "typo_rate"
                        else ""
                    )
                ),
                row_ids=list(carriers),
                evidence={
                    "group": grp,
                    "label": label,
                    "labels": t["labels"],
                    "cue": cue,
                    "group_cue_auc": t["auc_group"],
                    "group_cue_p_adjusted": float(a),
                    "cue_label_auc": t["auc_label"],
                    "cue_label_p_adjusted": float(b),
                    "cue_label_auc_within_groups": within,
                    "cue_mean_in_group": float(x[inside].mean()),
                    "cue_mean_elsewhere": float(rest.mean()),
                    "cue_means_per_group": cue_means,
                    "label_rates_per_group": gstats["label_rates"],
                    "label_rate_in_group": skew["rate"],
                    "label_rate_reference": skew["rate_reference"],
                    "carrier_cut": cut,
                    "rows_to_add": to_add,
                },
                fix={
                    "action": "augment",
                    "group": grp,
                    "labels": to_add,
                    "alternatives": fix_alts,
                },
            )
        )
    order = sorted(
        range(len(findings)),
        key=lambda i: (str(confounds[i]["group"]), -abs(confounds[i]["auc_group"] - 0.5)),
    )
    findings = [findings[i] for i in order]
    confounds = [confounds[i] for i in order]
    return {"tested": len(tests), "confounds": confounds}, findings


def _within_group_auc(
    x: np.ndarray, target: np.ndarray, g: np.ndarray, sign: float
) -> float | None:
    """Row-weighted mean over groups of the cue's AUC for the label inside each group
    (groups with fewer than 5 rows on either side are left out)."""
    frame = pd.DataFrame({"g": g, "x": x, "t": target.astype(float)})
    frame["r"] = frame.groupby("g", sort=False)["x"].rank()  # ties averaged, as in Mann-Whitney
    frame["rt"] = frame["r"] * frame["t"]
    agg = frame.groupby("g", sort=False).agg(pos=("t", "sum"), n=("t", "size"), rs=("rt", "sum"))
    agg["neg"] = agg["n"] - agg["pos"]
    agg = agg[(agg["pos"] >= MIN_CLASS_ROWS) & (agg["neg"] >= MIN_CLASS_ROWS)]
    if agg.empty:
        return None
    auc = (agg["rs"] - agg["pos"] * (agg["pos"] + 1) / 2) / (agg["pos"] * agg["neg"])
    auc = auc if sign > 0 else 1 - auc
    return float((auc * agg["n"]).sum() / agg["n"].sum())


# ---- shortcut tokens -----------------------------------------------------------------------


def capitalised_entities(text: pd.Series) -> pd.DataFrame:
    """(row, entity) pairs for entity-like tokens found by capitalisation.

    A token is entity-like when it appears capitalised in the middle of a sentence in
    at least 3 rows and most of its mid-sentence occurrences are capitalised (so
    "Dunmore" and "ATM" qualify, an ordinary word capitalised in a title does not).
    Rows written mostly in capitals are left out of the discovery.
    """
    letters = text.str.count(r"[A-Za-z]")
    upper = text.str.count(r"[A-Z]")
    calm = text[(upper <= 0.5 * letters.clip(lower=1)).to_numpy()]
    body = calm.str.replace(
        SENTENCE_START_RE, lambda m: m.group(1) + m.group(2).lower(), regex=True
    )
    toks = body.str.findall(TOKEN_RE).explode().dropna()
    if toks.empty:
        return pd.DataFrame(columns=["row", "entity"])
    toks = toks[toks.str.len() >= 2]
    frame = pd.DataFrame({"row": toks.index, "tok": toks.to_numpy()})
    frame["low"] = frame["tok"].str.lower()
    frame["cap"] = frame["tok"].str.match(r"[A-Z]")
    frame = frame.drop_duplicates(["row", "low", "cap"])
    cap_rows = frame[frame["cap"]].groupby("low").size()
    low_rows = frame[~frame["cap"]].groupby("low").size()
    ratio = cap_rows / (cap_rows + low_rows.reindex(cap_rows.index, fill_value=0))
    vocab = cap_rows.index[(cap_rows >= 3).to_numpy() & (ratio >= 0.5).to_numpy()]
    if len(vocab) == 0:
        return pd.DataFrame(columns=["row", "entity"])
    display = (
        frame[frame["cap"] & frame["low"].isin(vocab)]
        .groupby("low")["tok"]
        .agg(lambda s: s.value_counts().index[0])
    )
    all_toks = text.str.findall(TOKEN_RE).explode().dropna()
    low = all_toks.str.lower()
    hit = low.isin(vocab)
    pairs = pd.DataFrame({"row": all_toks.index[hit.to_numpy()], "entity": low[hit].map(display)})
    return pairs.drop_duplicates().reset_index(drop=True)


def spacy_entities(
    text: pd.Series, model: str, max_rows: int, seed: int
) -> tuple[pd.DataFrame, str]:
    """(row, entity) pairs from a spaCy pipeline's named entities (names, brands, places)."""
    import spacy

    from dataqa.errors import DataQAError

    try:
        nlp = spacy.load(model)
    except OSError as err:
        raise DataQAError(
            f"could not load the spaCy model {model!r} ({err})",
            hint="install it (pip install <model package>) or use -s bias.entities=heuristic",
        ) from None
    rows = text
    note = f"spaCy NER with {model}"
    if len(rows) > max_rows:
        rows = rows.sample(max_rows, random_state=seed).sort_index()
        note += f" on a seeded sample of {max_rows:,} of {len(text):,} rows"
    keep = [n for n in nlp.pipe_names if n in ("tok2vec", "transformer", "ner", "entity_ruler")]
    pairs = []
    with nlp.select_pipes(enable=keep):
        for rid, doc in zip(rows.index, nlp.pipe(rows.tolist(), batch_size=256), strict=True):
            for ent in doc.ents:
                if ent.label_ in NER_LABELS:
                    pairs.append((rid, ent.text.strip()))
    frame = pd.DataFrame(pairs, columns=["row", "entity"]).drop_duplicates()
    return frame.reset_index(drop=True), note


def shortcut_tokens(
    pairs: pd.DataFrame, labels: pd.Series, groups: pd.Series | None, p: dict
) -> tuple[dict, list[Finding]]:
    """Entities whose rows mostly carry one label, beyond that label's base rate."""
    pairs = pairs[pairs["row"].isin(labels.index)]
    if pairs.empty:
        return {"entities": 0, "flagged": []}, []
    pairs = pairs.assign(label=labels.loc[pairs["row"]].to_numpy())
    table = pd.crosstab(pairs["entity"], pairs["label"])
    support = table.sum(axis=1)
    table = table[support >= p["min_support"]]
    stats: dict[str, Any] = {"entities": int(len(support)), "tested": int(len(table))}
    if table.empty:
        stats["flagged"] = []
        return stats, []
    prior = labels.value_counts(normalize=True).reindex(table.columns).to_numpy()
    counts = table.to_numpy(dtype=float)
    sup = counts.sum(axis=1, keepdims=True)
    lb = wilson_lower(counts, np.broadcast_to(sup, counts.shape))
    lift = lb - prior
    best = lift.argmax(axis=1)
    rows_i = np.arange(len(table))
    res = pd.DataFrame(
        {
            "entity": table.index,
            "label": table.columns[best],
            "support": sup[:, 0].astype(int),
            "hits": counts[rows_i, best].astype(int),
            "precision": counts[rows_i, best] / sup[:, 0],
            "lb": lb[rows_i, best],
            "prior": prior[best],
        }
    )
    res["lift"] = res["lb"] - res["prior"]
    flagged = res[(res["lb"] >= p["rule_min_precision"]) & (res["lift"] >= p["rule_min_lift"])]
    # a token the label itself names ("Visa" => visa_or_mastercard) is the task, not a shortcut
    named = flagged.apply(lambda r: _named_by_label(r["entity"], r["label"]), axis=1)
    named = named.astype(bool) if len(flagged) else pd.Series(dtype=bool)
    stats["named_by_label"] = flagged.loc[named.to_numpy(), "entity"].tolist()
    flagged = flagged[~named.to_numpy()]
    flagged = flagged.sort_values(["lb", "support"], ascending=False).head(p["max_token_findings"])
    stats["top"] = res.sort_values("lift", ascending=False).head(20).to_dict("records")
    stats["flagged"] = flagged["entity"].tolist()
    findings = []
    for _, r in flagged.iterrows():
        ent_rows = pairs.loc[pairs["entity"] == r["entity"], "row"]
        carriers = ent_rows[(labels.loc[ent_rows] == r["label"]).to_numpy()]
        evidence = {
            "token": r["entity"],
            "label": r["label"],
            "support": int(r["support"]),
            "hits": int(r["hits"]),
            "precision": float(r["precision"]),
            "precision_lower_95": float(r["lb"]),
            "base_rate": float(r["prior"]),
            "label_counts": {str(k): int(v) for k, v in table.loc[r["entity"]].items() if v},
        }
        if groups is not None:
            top = groups.loc[ent_rows].value_counts(normalize=True)
            if len(top) and top.iloc[0] >= 0.8:
                evidence["mostly_group"] = {"group": top.index[0], "share": float(top.iloc[0])}
        findings.append(
            Finding(
                check="bias.shortcut_token",
                severity="warning",
                message=(
                    f"the token {r['entity']!r} alone predicts {r['label']!r}: "
                    f"{r['hits']} of {r['support']} rows that mention it carry that label "
                    f"(precision {r['precision']:.0%}, 95% lower bound {r['lb']:.0%}, base rate "
                    f"{r['prior']:.0%}); unless the token is part of the task, a model will learn "
                    "it as a shortcut"
                ),
                row_ids=sorted(carriers.tolist(), key=_order_key),
                evidence=evidence,
                fix={
                    "action": "review",
                    "token": r["entity"],
                    "label": r["label"],
                    "suggestion": "mask or vary the token, or add rows of other labels that mention it",
                },
            )
        )
    return stats, findings


def _named_by_label(entity: str, label: str) -> bool:
    words = set(re.findall(r"[a-z0-9]+", str(label).lower()))
    return any(w in words for w in re.findall(r"[a-z0-9]+", str(entity).lower()))


def _order_key(v):
    return (0, v) if isinstance(v, (int, np.integer)) else (1, str(v))


# ---- stats and charts ------------------------------------------------------------------------


def _cue_stats(table: pd.DataFrame, classes: pd.Index) -> dict:
    out = {}
    for name, row in table.iterrows():
        entry = {
            "strength": float(row["strength"]),
            "p_value": None if pd.isna(row.get("p_value")) else float(row["p_value"]),
            "p_adjusted": None if pd.isna(row.get("p_adjusted")) else float(row["p_adjusted"]),
        }
        if name != "group" and not row.get("constant", False):
            entry["chance"] = float(row["chance"])
            entry["best_class"] = str(classes[int(row["best_class"])])
            entry["best_class_auc"] = float(row["best_class_auc"])
            rule = row.get("rule")
            if isinstance(rule, dict):
                entry["rule"] = {
                    **{k: v for k, v in rule.items() if k != "class"},
                    "label": str(classes[rule["class"]]),
                }
        out[name] = entry
    return out


def _cue_chart(table: pd.DataFrame) -> dict:
    order = table["strength"].astype(float).sort_values(ascending=False)
    return {
        "id": "bias-surface-cues",
        "type": "bar",
        "title": "How well each surface cue alone predicts the label (0.5 = not at all)",
        "x_label": "cue",
        "y_label": "AUC-equivalent strength",
        "data": {
            "labels": [CUE_LABELS.get(n, n) for n in order.index],
            "values": [round(float(v), 4) for v in order],
        },
    }


def _group_heatmap(groups: pd.Series, labels: pd.Series) -> dict | None:
    known = groups.notna()
    table = pd.crosstab(groups[known], labels[known])
    if table.empty:
        return None
    table = table.loc[table.sum(axis=1).sort_values(ascending=False).index[:MAX_CHART_ROWS]]
    table = table[table.sum(axis=0).sort_values(ascending=False).index[:MAX_CHART_ROWS]]
    shares = table.div(table.sum(axis=1).clip(lower=1), axis=0)
    return {
        "id": "bias-group-label",
        "type": "heatmap",
        "title": "Share of each label within each group",
        "x_label": "label",
        "y_label": "group",
        "data": {
            "rows": [str(r) for r in shares.index],
            "cols": [str(c) for c in shares.columns],
            "values": shares.round(4).to_numpy().tolist(),
        },
    }
