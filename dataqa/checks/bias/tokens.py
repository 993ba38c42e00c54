"""Shortcut tokens: entities and brand-like tokens that alone predict a label."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from dataqa.checks.bias.common import NER_LABELS, SENTENCE_START_RE, order_key
from dataqa.findings import Finding
from dataqa.stats import wilson_lower
from dataqa.text import ENTITY_TOKEN_RE as TOKEN_RE


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
                row_ids=sorted(carriers.tolist(), key=order_key),
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
