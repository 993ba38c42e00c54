"""Labelled text sets and noise models for the label-error benchmark (`bench_labels.py`).

Sets (each loader returns `(texts, labels)` or raises FileNotFoundError when its source is
not on this machine, so the benchmark skips it):

- `banking77`: Banking77 train, the rows with text and label (77 intents, short queries).
- `banking77_small`: 10 rows per class of the above (770 rows; a weak classifier).
- `sst2`: a 20,000-row stratified sample of SST-2 train (2 classes, short phrases).
- `debian`: 10,000 rows of ../shared/data/debian_packages (25 archive sections, one-line
  package summaries, real labelling choices such as misc vs utils).
- `gcloud`: long documents assembled offline: the reference pages of the Google Cloud CLI
  installed on this machine (/usr/share/man/man1/gcloud_*.1.gz, generally available
  commands only), labelled by command group (the 30 largest groups, at most 300 pages
  each). Text = DESCRIPTION, POSITIONAL ARGUMENTS, FLAGS and EXAMPLES with roff markup
  removed and the command path's group word dropped ("gcloud sql instances patch" ->
  "gcloud instances patch"), so the label is not spelled in the text. Multi-paragraph,
  2-60 kB per page: the 20-newsgroups-like case (topics, long text, neighbouring groups).
- `reviews`: long binary documents assembled from SST-2 train sentences (>= 10 words): each
  "review" is 8-14 sentences; its label is drawn first and each sentence carries that
  polarity with a per-review probability in [0.6, 1.0], so mixed reviews are ambiguous,
  as real movie reviews are. The IMDB-like case (two classes, long, some items genuinely
  ambiguous).

Noise models (`inject`), all with a fixed seed; `rate` is the share of rows flipped:

- `uniform`: a random other class.
- `class-conditional`: every flipped row of class i gets i's most confusable class (the
  off-diagonal argmax of the confusion matrix of clean out-of-fold reference predictions).
- `pair`: confusable pairs: classes are matched into pairs greedily by symmetric clean
  confusion, and a flipped row gets its class's partner (real "misc vs utils" mix-ups).
- `ambiguity`: human-like: a row is chosen with probability proportional to its
  ambiguity (the clean reference model's probability of its most likely *other* class)
  and gets that class. Annotators err on ambiguous items and towards the neighbouring
  class. Only rows the reference model gets right can be chosen: an item that the model
  already puts in another class has no agreed true label, so flipping it plants no
  verifiable error (the hidden sets' errors were validated by people).
- `mixed`: half of the flips as `ambiguity`, the other half `uniform` (annotators who
  both hesitate on hard items and slip on easy ones).

The reference model for `class-conditional`, `pair` and `ambiguity` is the anchor recipe's
model (TF-IDF 1-2 gram + logistic regression, 5-fold) on the clean labels.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
MAN1 = Path("/usr/share/man/man1")


def banking77() -> tuple[list[str], np.ndarray]:
    df = pd.read_csv(DATA / "banking77" / "train.csv").dropna(subset=["text", "category"])
    return df["text"].astype(str).tolist(), df["category"].astype(str).to_numpy()


def banking77_small(per_class: int = 10, seed: int = 0) -> tuple[list[str], np.ndarray]:
    df = pd.read_csv(DATA / "banking77" / "train.csv").dropna(subset=["text", "category"])
    df = df.groupby("category", group_keys=False).sample(n=per_class, random_state=seed)
    return df["text"].astype(str).tolist(), df["category"].astype(str).to_numpy()


def sst2(n: int = 20_000, seed: int = 0) -> tuple[list[str], np.ndarray]:
    from sklearn.model_selection import train_test_split

    df = pd.read_csv(DATA / "sst2" / "train.tsv", sep="\t", quoting=3)
    _, df = train_test_split(df, test_size=n, stratify=df["label"], random_state=seed)
    return df["sentence"].astype(str).tolist(), df["label"].astype(str).to_numpy()


def debian(n: int = 10_000, seed: int = 0) -> tuple[list[str], np.ndarray]:
    from sklearn.model_selection import train_test_split

    df = pd.read_csv(DATA / "debian_packages" / "packages.csv.gz").dropna(subset=["text"])
    _, df = train_test_split(df, test_size=n, stratify=df["section"], random_state=seed)
    return df["text"].astype(str).tolist(), df["section"].astype(str).to_numpy()


_KEEP_SECTIONS = ("DESCRIPTION", "POSITIONAL ARGUMENTS", "FLAGS", "EXAMPLES")


def _roff_to_text(roff: str) -> dict[str, str]:
    """Sections of a man page as plain text (font escapes and requests removed)."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in roff.splitlines():
        if line.startswith(".SH"):
            current = line[3:].strip().strip('"')
            sections[current] = []
            continue
        if line.startswith((".", "'")) or current is None:
            continue
        line = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", line)
        line = line.replace("\\-", "-").replace("\\ ", " ").replace("\\(bu", "*")
        line = re.sub(r"\\[&|^]", "", line)
        sections[current].append(line)
    return {k: "\n".join(v).strip() for k, v in sections.items()}


def gcloud(groups: int = 30, per_group: int = 300, seed: int = 0) -> tuple[list[str], np.ndarray]:
    pages = sorted(MAN1.glob("gcloud_*.1.gz")) if MAN1.is_dir() else []
    pages = [p for p in pages if not p.name.startswith(("gcloud_alpha_", "gcloud_beta_"))]
    if not pages:
        raise FileNotFoundError("no Google Cloud CLI manual pages in /usr/share/man/man1")
    by_group: dict[str, list[Path]] = {}
    for p in pages:
        parts = p.name[: -len(".1.gz")].split("_")
        if len(parts) >= 3:  # gcloud GROUP COMMAND...; group pages themselves are skipped
            by_group.setdefault(parts[1], []).append(p)
    top = sorted(by_group, key=lambda g: (-len(by_group[g]), g))[:groups]
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for g in sorted(top):
        chosen = by_group[g]
        if len(chosen) > per_group:
            chosen = [chosen[i] for i in sorted(rng.choice(len(chosen), per_group, replace=False))]
        for p in chosen:
            secs = _roff_to_text(gzip.decompress(p.read_bytes()).decode("utf-8", "replace"))
            body = "\n\n".join(secs[s] for s in _KEEP_SECTIONS if secs.get(s))
            body = re.sub(rf"\bgcloud {re.escape(g)}\b", "gcloud", body)
            if len(body) < 200:
                continue
            texts.append(body)
            labels.append(g)
    return texts, np.asarray(labels)


def reviews(seed: int = 0, min_words: int = 10) -> tuple[list[str], np.ndarray]:
    df = pd.read_csv(DATA / "sst2" / "train.tsv", sep="\t", quoting=3)
    df = df[df["sentence"].str.split().str.len() >= min_words].drop_duplicates("sentence")
    rng = np.random.default_rng(seed)
    pools = {
        lab: list(rng.permutation(df.loc[df["label"] == lab, "sentence"].to_numpy()))
        for lab in (0, 1)
    }
    texts, labels = [], []
    while True:
        lab = int(rng.integers(2))
        q = rng.uniform(0.6, 1.0)
        k = int(rng.integers(8, 15))
        pol = np.where(rng.random(k) < q, lab, 1 - lab)
        need = {0: int((pol == 0).sum()), 1: int((pol == 1).sum())}
        if any(len(pools[c]) < need[c] for c in (0, 1)):
            break
        sents = [pools[int(c)].pop() for c in pol]
        # paragraphs of 3-5 sentences: multi-paragraph documents
        cuts = np.cumsum(rng.integers(3, 6, size=k))
        paras, start = [], 0
        for c in cuts:
            if start >= k:
                break
            paras.append(" ".join(s.strip().capitalize() + " ." for s in sents[start : int(c)]))
            start = int(c)
        texts.append("\n\n".join(paras))
        labels.append(str(lab))
    return texts, np.asarray(labels)


SETS = {
    "banking77": ("Banking77 train", banking77),
    "banking77_small": ("Banking77, 10 rows per class", banking77_small),
    "sst2": ("SST-2 train, 20k stratified sample", sst2),
    "debian": ("Debian package summaries, 10k rows", debian),
    "gcloud": ("gcloud reference pages (long documents)", gcloud),
    "reviews": ("SST-2 sentences assembled into reviews (long, binary)", reviews),
}


# ---- noise ---------------------------------------------------------------------------------


def reference_probs(texts: list[str], y: np.ndarray, seed: int = 0) -> np.ndarray:
    """Clean-label out-of-fold probabilities of the anchor's model (TF-IDF 1-2 + LR, 5-fold)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    X = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(texts)
    k = max(2, min(5, int(np.bincount(y).min())))
    cv = StratifiedKFold(k, shuffle=True, random_state=seed)
    return cross_val_predict(LogisticRegression(max_iter=1000), X, y, cv=cv, method="predict_proba")


def confusion_targets(P: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(most confusable class per class, greedy confusable-pair partner per class)."""
    K = P.shape[1]
    cm = np.zeros((K, K))
    np.add.at(cm, y, P)  # soft confusion: expected counts
    off = cm.copy()
    np.fill_diagonal(off, -1.0)
    most = off.argmax(1)
    sym = off + off.T
    partner = np.full(K, -1)
    for flat in np.argsort(-sym, axis=None, kind="stable"):
        i, j = divmod(int(flat), K)
        if i != j and partner[i] < 0 and partner[j] < 0:
            partner[i], partner[j] = j, i
    partner[partner < 0] = most[partner < 0]  # odd K: the last class uses its most confused
    return most, partner


def inject(
    y: np.ndarray, P: np.ndarray, kind: str, rate: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(noisy labels, flipped mask). `P` = clean reference probabilities (n, K)."""
    rng = np.random.default_rng(seed)
    n, K = P.shape
    m = int(round(rate * n))
    noisy = y.copy()
    if kind in ("ambiguity", "mixed"):
        other = P.copy()
        other[np.arange(n), y] = -1.0
        target = other.argmax(1)
        # items a careful reader gets right (the reference model ranks the true class
        # first) but that resemble another class: the more they do, the likelier the slip
        w = np.where(P[np.arange(n), y] > other.max(1), other.max(1), 0.0)
        m_amb = m if kind == "ambiguity" else m // 2
        m_amb = min(m_amb, int((w > 0).sum()))
        idx = rng.choice(n, size=m_amb, replace=False, p=w / w.sum())
        noisy[idx] = target[idx]
        if kind == "mixed":  # the other half: careless slips to a random other class
            rest = np.setdiff1d(np.arange(n), idx)
            idx = rng.choice(rest, size=m - m_amb, replace=False)
            noisy[idx] = (y[idx] + rng.integers(1, K, size=len(idx))) % K
    else:
        idx = rng.choice(n, size=m, replace=False)
        if kind == "uniform":
            noisy[idx] = (y[idx] + rng.integers(1, K, size=m)) % K
        elif kind in ("class-conditional", "pair"):
            most, partner = confusion_targets(P, y)
            noisy[idx] = (most if kind == "class-conditional" else partner)[y[idx]]
        else:
            raise ValueError(kind)
    flipped = noisy != y
    return noisy, flipped
