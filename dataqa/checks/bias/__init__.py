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
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from dataqa.checks.base import Check, CheckResult, Context
from dataqa.checks.bias.common import MIN_CLASS_ROWS, SPACY_MODELS
from dataqa.checks.bias.cues import (
    cue_chart,
    cue_findings,
    cue_stats,
    cue_strengths,
    group_strength,
    other_language,
    surface_cues,
)
from dataqa.checks.bias.groups import confounding, group_heatmap, group_skew
from dataqa.checks.bias.tokens import capitalised_entities, shortcut_tokens, spacy_entities
from dataqa.dataset import Dataset
from dataqa.findings import Finding
from dataqa.fixes import Augment, Kind, Review
from dataqa.options import Options
from dataqa.stats import adjust
from dataqa.text import typo_rate


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
        stats["surface_cues"] = cue_stats(cue_table, classes)
        findings += cue_findings(cue_table, cues, present, codes, classes, p)
        charts.append(cue_chart(cue_table))

        if groups is not None:
            gstats, gfindings, skewed = group_skew(groups, present, p)
            stats["groups"] = gstats
            findings += gfindings
            charts.append(group_heatmap(groups, present))
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
                    "bias.entities=spacy needs the spacy package",
                    hint="pip install 'dataqa-finetune[nlp]'",
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


__all__ = ["BiasCheck", "BiasOptions", "KINDS", "capitalised_entities"]
