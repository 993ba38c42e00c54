"""Constants and small helpers the bias sub-modules share."""

from __future__ import annotations

import numpy as np

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


def class_aucs(ranks: np.ndarray, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """One-vs-rest ROC AUC of a feature for each class, from its (tie-averaged) ranks."""
    n_total = len(codes)
    n = np.bincount(codes, minlength=k).astype(float)
    rank_sum = np.bincount(codes, weights=ranks, minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (rank_sum - n * (n + 1) / 2) / (n * (n_total - n))
    return auc, n


def strength(auc: np.ndarray, n: np.ndarray, valid: np.ndarray) -> float:
    w = n[valid]
    if w.sum() == 0:
        return 0.0
    return float((w * np.abs(auc[valid] - 0.5)).sum() / w.sum())


def order_key(v):
    return (0, v) if isinstance(v, (int, np.integer)) else (1, str(v))
