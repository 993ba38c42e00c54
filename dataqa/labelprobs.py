"""Out-of-sample predicted probabilities and the choice of suspect rows, over plain arrays.

Why this shape (each choice was measured, see BENCHMARKS.md "Label errors"):

- **Stratified K-fold**: every row's probabilities come from models that never saw its
  label. K shrinks to the smallest class size when a class has fewer than K rows.
- **Several cheap members, pooled** (the check picks them, `dataqa.checks.labels._plan`):
  a linear SVM (many classes) or complement naive Bayes (two classes) on word + character
  TF-IDF, cosine k-nearest neighbours (neighbours searched once, reused by every pass),
  and a ridge classifier on static token embeddings of a small encoder (when one is
  installed), or on encoder / spaCy vectors. Each member gives per-class scores; they
  are combined as a log-linear pool `log p = log_softmax(sum_m w_m * s_m)` whose
  non-negative weights are fitted on the out-of-fold scores to maximise the likelihood
  of the given labels. The fit both calibrates (a weight is a temperature) and picks
  members: on Banking77 the SVM and kNN carry the pool, on SST-2 naive Bayes and the
  embeddings do.
- **Two passes**: the second pass trains every fold without the rows the first pass
  flagged, so models learn from cleaner labels (the flagged row's own prediction never
  uses its own label; other rows' flags depend on it only through their own first-pass
  models, a second-order effect we accept).
- **Selection** (`select_issues`): how many rows to flag is the smaller of cleanlab's
  confident-joint count (`off_diagonal_calibrated`) and a mixture-proportion upper bound
  (`noise_upper_bound`); the confident joint alone counts a weak model's own mistakes as
  label errors and over-flags at low noise rates (measured: 5.9-6.8x the planted flips at
  2% noise on Debian package summaries). The rows flagged are those of lowest label
  quality: the geometric mean of the model's probability of the given label and the
  posterior probability that it is right under cleanlab's class-to-class noise matrix
  (the posterior ranks class-conditional noise well, self-confidence uniform noise).
  `model_skill` says how far to trust it: a weak model is reported, and with few rows per
  class its suspects need strong evidence (another label ten times as likely); when it
  does not beat chance no row is flagged. Any of cleanlab's `find_label_issues` filters can be chosen
  instead of the count + ranking.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from dataqa.featurizers import Features
from dataqa.folds import make_folds, plan_folds
from dataqa.progress import bar

CLEANLAB_FILTERS = (
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "predicted_neq_given",
    "low_normalized_margin",
    "low_self_confidence",
)
FILTERS = ("posterior", *CLEANLAB_FILTERS)


@dataclass
class LabelProbs:
    """Pooled out-of-sample probabilities and how they were made."""

    probs: np.ndarray  # (n, K) float64, rows sum to 1
    folds: int
    weights: dict[str, float]  # member -> pool weight (last pass)
    passes: int
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class Selection:
    """Which rows are suspects, how sure, what the noise looks like, and how far to trust it."""

    issues: np.ndarray  # bool (n,)
    quality: np.ndarray  # (n,) label quality in [0, 1]: the ranking score, low = suspect
    p_correct: np.ndarray  # (n,) posterior probability that the given label is right
    suggested: np.ndarray  # (n,) int: most likely true class other than the given one
    suggested_prob: np.ndarray  # (n,) posterior probability of `suggested`
    joint: np.ndarray  # (K, K) estimated joint of (given, true), sums to 1
    num_issues: int  # how many labels we estimate are wrong (the flag count)
    estimates: dict  # the count estimates it was chosen from, by name
    oof_accuracy: float  # out-of-fold accuracy of the pooled model against the given labels
    chance: float  # accuracy of always answering the most common class
    skill: float  # 1 - log loss / log loss of the class prior (0 = no better than the prior)
    reliability: str  # "ok" | "weak" (strong evidence only) | "chance" (flag none)

    @property
    def separable(self) -> bool:
        return self.reliability == "ok"


# ---- members: (X_train, y_train, X_test, K) -> per-class scores (n_test, K) -----------------


def _full_scores(scores: np.ndarray, classes: np.ndarray, K: int) -> np.ndarray:
    """Scores for the classes a model saw, spread over all K (absent classes get the row
    minimum minus a margin, i.e. 'very unlikely')."""
    if scores.ndim == 1:
        scores = np.c_[-scores / 2, scores / 2]
    if len(classes) == K and np.array_equal(classes, np.arange(K)):
        return scores.astype(np.float32)
    out = np.repeat(scores.min(1, keepdims=True) - 10.0, K, axis=1).astype(np.float32)
    out[:, classes] = scores
    return out


# Each member is a fit (train rows -> a model, None when the rows hold one class) and a
# score (model, rows -> per-class scores); the in-memory pool calls both per fold
# (`MEMBERS`), the Dask executor fits on a sample and scores every row where it lies.


def _fit_cnb(Xtr, ytr, K, seed):
    from sklearn.naive_bayes import ComplementNB

    return ComplementNB(alpha=0.3).fit(Xtr, ytr)


def _score_log_proba(m, Xte, K):
    if m is None:
        return np.zeros((Xte.shape[0], K), np.float32)
    return _full_scores(m.predict_log_proba(Xte), m.classes_, K)


def _score_decision(m, Xte, K):
    if m is None:
        return np.zeros((Xte.shape[0], K), np.float32)
    return _full_scores(m.decision_function(Xte), m.classes_, K)


def _fit_svm(Xtr, ytr, K, seed):
    from sklearn.svm import LinearSVC

    if len(np.unique(ytr)) < 2:
        return None
    # tol 1e-2: half the time of the default 1e-4, same held-out accuracy on Banking77
    return LinearSVC(C=0.3, tol=1e-2, random_state=seed).fit(Xtr, ytr)


def _fit_ridge(Xtr, ytr, K, seed):
    from sklearn.linear_model import RidgeClassifier

    if len(np.unique(ytr)) < 2:
        return None
    return RidgeClassifier(alpha=ridge_alpha(len(ytr), K), solver="cholesky").fit(Xtr, ytr)


def ridge_alpha(n_train: int, K: int) -> float:
    """Strong shrinkage: dense embedding dimensions, noisy labels; alpha grows with the rows."""
    return max(10.0, 0.05 * n_train / K)


def ridge_oof(
    X: np.ndarray,
    y: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    K: int,
    train_mask: np.ndarray | None = None,
) -> np.ndarray:
    """Out-of-fold `_ridge` scores for dense X from shared sufficient statistics.

    The same model as `RidgeClassifier(alpha=ridge_alpha(...), fit_intercept=True)` per
    fold (targets +1 for the class, -1 otherwise; one column when K == 2), but X'X and X'Y
    are computed once per fold's *test* block and each training fold's statistics are the
    total minus its own block: a fifth of the multiply-adds of refitting every fold.
    """
    import scipy.linalg

    n, d = X.shape
    binary = K == 2
    Y = np.where(y[:, None] == (np.arange(1, 2) if binary else np.arange(K)), 1.0, -1.0)
    use = np.ones(n, bool) if train_mask is None else train_mask
    blocks = []
    for _, test in folds:
        rows = test[use[test]]
        Xb = X[rows]
        blocks.append(
            (
                len(rows),
                Xb.sum(0, dtype=np.float64),
                Y[rows].sum(0),
                (Xb.T @ Xb).astype(np.float64),
                (Xb.T.astype(np.float64) @ Y[rows]),
            )
        )
    tot = [sum(b[i] for b in blocks) for i in range(5)]
    S = np.zeros((n, K), np.float32)
    for (train, test), blk in zip(folds, blocks, strict=True):
        m = tot[0] - blk[0]
        if m < 2 or (np.abs(tot[2] - blk[2]) == m).all():  # one class left: as `_ridge`, zeros
            continue
        xm = (tot[1] - blk[1]) / m
        ym = (tot[2] - blk[2]) / m
        G = tot[3] - blk[3] - m * np.outer(xm, xm)
        G[np.diag_indices(d)] += ridge_alpha(m, K)
        C = tot[4] - blk[4] - m * np.outer(xm, ym)
        W = scipy.linalg.solve(G, C, assume_a="pos")
        dec = (X[test] - xm) @ W + ym
        seen = np.unique(y[train[use[train]]])
        if len(seen) < K and not binary:  # as `_ridge`: classes a fold never saw score lowest
            # (two seen classes: scikit-learn's one-column +1/-1 encoding, the second class +1)
            S[test] = _full_scores(dec[:, seen[1]] if len(seen) == 2 else dec[:, seen], seen, K)
        else:
            S[test] = _full_scores(dec[:, 0] if binary else dec, np.arange(K), K)
    return S


def _fit_logreg(Xtr, ytr, K, seed):
    from sklearn.linear_model import LogisticRegression

    if len(np.unique(ytr)) < 2:
        return None
    return LogisticRegression(C=1.0, max_iter=300, random_state=seed).fit(Xtr, ytr)


def _fit_sgd(Xtr, ytr, K, seed):
    """Linear SVM by SGD: the member for millions of rows (one pass over the data per epoch)."""
    from sklearn.linear_model import SGDClassifier

    if len(np.unique(ytr)) < 2:
        return None
    return SGDClassifier(alpha=1e-5, max_iter=5, tol=None, random_state=seed).fit(Xtr, ytr)


FITTED: dict[str, tuple[Callable, Callable]] = {
    "cnb": (_fit_cnb, _score_log_proba),
    "svm": (_fit_svm, _score_decision),
    "ridge": (_fit_ridge, _score_decision),
    "logreg": (_fit_logreg, _score_log_proba),
    "sgd": (_fit_sgd, _score_decision),
}
"""member name -> (fit(X_train, y_train, K, seed) -> model, score(model, X, K) -> (n, K))."""


def fit_member(member: str, Xtr, ytr: np.ndarray, K: int, seed: int = 0):
    """Fit pool member `member` on training rows; None when they hold a single class."""
    return FITTED[member][0](Xtr, ytr, K, seed)


def score_member(member: str, model, X, K: int) -> np.ndarray:
    """Per-class scores (n, K) float32 of a model from `fit_member` (zeros for None)."""
    return FITTED[member][1](model, X, K)


def _fit_and_score(member: str) -> Callable:
    def run(Xtr, ytr, Xte, K, seed):
        return score_member(member, fit_member(member, Xtr, ytr, K, seed), Xte, K)

    run.__name__ = f"_{member}"
    return run


KNN_K = 25
KNN_POOL = 50  # neighbours kept per row, so a later pass can drop masked ones without a search
KNN_BLOCK = 2048


def knn_neighbours(X, folds: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """For every row, its KNN_POOL most cosine-similar rows among its fold's training rows
    (global indices, most similar first) and the similarities. Computed once per feature
    set; every pass reuses it."""
    n = X.shape[0]
    m = min(KNN_POOL, min(len(tr) for tr, _ in folds))
    idx = np.zeros((n, m), np.int64)
    sim = np.zeros((n, m), np.float32)
    dense = isinstance(X, np.ndarray)
    if dense:
        X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    for train, test in folds:
        Xtr = X[train]
        for s in range(0, len(test), KNN_BLOCK):
            rows = test[s : s + KNN_BLOCK]
            sims = X[rows] @ Xtr.T
            sims = np.asarray(sims if dense else sims.toarray(), dtype=np.float32)
            top = np.argpartition(-sims, m - 1, axis=1)[:, :m]
            val = np.take_along_axis(sims, top, 1)
            order = np.argsort(-val, axis=1, kind="stable")
            idx[rows] = train[np.take_along_axis(top, order, 1)]
            sim[rows] = np.take_along_axis(val, order, 1)
    return idx, sim


def knn_scores(
    neighbours: tuple[np.ndarray, np.ndarray], y: np.ndarray, K: int, mask: np.ndarray | None
) -> np.ndarray:
    """Log of the similarity-squared vote of the KNN_K nearest usable neighbours."""
    idx, sim = neighbours
    usable = np.ones(idx.shape, bool) if mask is None else mask[idx]
    usable &= np.cumsum(usable, axis=1) <= KNN_K
    w = np.where(usable, np.clip(sim, 0, None) ** 2, 0.0).astype(np.float32)
    votes = np.zeros((len(idx), K), np.float32)
    np.add.at(votes, (np.repeat(np.arange(len(idx)), idx.shape[1]), y[idx].ravel()), w.ravel())
    total = votes.sum(1, keepdims=True)
    return np.log((votes + 0.01 * total / K + 1e-6) / (total + 1e-6))


def _probs(Xtr, ytr, Xte, K, seed):
    """Scores computed out of fold already (fine-tuned log-probabilities): used as they are."""
    return np.asarray(Xte, np.float32)


_cnb, _svm, _ridge, _logreg, _sgd = (
    _fit_and_score(m) for m in ("cnb", "svm", "ridge", "logreg", "sgd")
)

MEMBERS: dict[str, Callable | None] = {
    "cnb": _cnb,
    "svm": _svm,
    "knn": None,  # from cached neighbours: knn_neighbours, then knn_scores per pass
    "ridge": _ridge,
    "logreg": _logreg,
    "sgd": _sgd,
    "probs": _probs,
}
"""member name -> fit on train rows, score test rows."""


# ---- out-of-fold scores, pooling, passes ---------------------------------------------------


def oof_scores(
    member: str,
    X,
    y: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    K: int,
    *,
    train_mask: np.ndarray | None = None,
    seed: int = 0,
) -> np.ndarray:
    if member == "ridge" and isinstance(X, np.ndarray):
        return ridge_oof(X, y, folds, K, train_mask)
    fit = MEMBERS[member]
    S = np.zeros((len(y), K), np.float32)
    for train, test in folds:
        if train_mask is not None:
            train = train[train_mask[train]]
        S[test] = fit(X[train], y[train], X[test], K, seed)
    return S


def log_softmax(Z: np.ndarray) -> np.ndarray:
    Z = Z - Z.max(1, keepdims=True)
    return Z - np.log(np.exp(Z).sum(1, keepdims=True))


def fit_pool(scores: dict[str, np.ndarray], y: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    """Log-linear pool of member scores with non-negative weights that maximise the
    likelihood of the given labels; returns (probabilities, weights)."""
    from scipy.optimize import minimize

    names = list(scores)
    S = np.stack([scores[m].astype(np.float64) for m in names])
    S -= S.mean(axis=2, keepdims=True)  # scores are shift-invariant per row
    rows = np.arange(len(y))

    def nll(w: np.ndarray) -> tuple[float, np.ndarray]:
        L = log_softmax(np.tensordot(w, S, 1))
        P = np.exp(L)
        loss = -L[rows, y].mean()
        # d loss / d w_m = mean over rows of (E_P[s_m] - s_m[y])
        grad = np.einsum("mnk,nk->m", S, P) / len(y) - S[:, rows, y].mean(1)
        return loss, grad

    w0 = np.full(len(names), 1.0 / len(names))
    res = minimize(nll, w0, jac=True, bounds=[(0.0, None)] * len(names), method="L-BFGS-B")
    w = res.x if np.all(np.isfinite(res.x)) else w0
    P = np.exp(log_softmax(np.tensordot(w, S, 1)))
    return P, {m: round(float(v), 4) for m, v in zip(names, w, strict=True)}


def pooled_probs(
    features: list[Features],
    members: list[tuple[str, str]],
    y: np.ndarray,
    K: int,
    *,
    folds: int = 5,
    passes: int = 2,
    filter_by: str = "posterior",
    seed: int = 0,
    progress: bool = False,
) -> LabelProbs:
    """Out-of-sample probabilities from `members` = [(member, feature name), ...]."""
    k, note = plan_folds(y, folds)
    splits = make_folds(y, k, seed)
    by_name = {f.name: f for f in features}
    notes = [note] if note else []
    timings: dict[str, float] = {}
    mask = None
    P = np.full((len(y), K), 1.0 / K)
    weights: dict[str, float] = {}
    neighbours: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for p in range(max(1, passes)):
        scores = {}
        steps = bar(
            members, desc=f"labels: pass {p + 1} models", total=len(members), enabled=progress
        )
        for member, feat in steps:
            start = time.perf_counter()
            if member == "knn":
                if feat not in neighbours:
                    neighbours[feat] = knn_neighbours(by_name[feat].X, splits)
                scores[f"knn:{feat}"] = knn_scores(neighbours[feat], y, K, mask)
            else:
                scores[f"{member}:{feat}"] = oof_scores(
                    member, by_name[feat].X, y, splits, K, train_mask=mask, seed=seed
                )
            timings[f"pass{p + 1}:{member}:{feat}"] = round(time.perf_counter() - start, 3)
        P, weights = fit_pool(scores, y)
        if p + 1 < passes:
            # the training mask of the next pass takes every row the confident joint
            # doubts (recall first): models fitted on labels with systematic noise learn it,
            # and the flipped rows then look plausible. Measured, class-conditional noise on
            # Banking77: the calibrated count's bound fell to 0.3x the planted flips when the
            # second pass kept the doubted rows, 0.9x when it dropped them
            flagged = select_issues(
                y, P, filter_by=filter_by, seed=seed, count="confident_joint"
            ).issues
            mask = ~flagged
            if mask.sum() < 2 * K:  # nothing sensible left to train on: stop here
                notes.append("labels: second pass skipped (too few rows left after the first)")
                break
    return LabelProbs(
        probs=P, folds=k, weights=weights, passes=passes, notes=notes, timings=timings
    )


# ---- selection -----------------------------------------------------------------------------


WEAK_ACCURACY = 0.6
"""Below this out-of-fold accuracy against the given labels the model separates the
classes poorly: the check says so and suggests a stronger featuriser (and, with few rows
per class, flags only rows with strong evidence: `WEAK_ODDS`). Measured accuracies: Banking77 at 10 rows per class
0.47, Debian package summaries 0.58-0.73, SST-2 phrases 0.66-0.87, Banking77 0.70-0.88,
gcloud pages 0.93. Tried and dropped: cutting to the rows whose label is less likely than
not under the posterior (the posterior counts the noise twice when the model was fitted
to noisy labels: with 20% noise on SST-2 it cut a right count of 0.94x to 0.29x), and a
log-loss skill threshold (20% label noise alone caps a binary model's skill at 0.28)."""

WEAK_ODDS = 10.0
FEW_ROWS = 30
"""A weak model trained on few rows per class (median class below FEW_ROWS) flags only
rows for which another label is at least WEAK_ODDS times as likely as the given one:
with a handful of rows per class, clean rows often get no evidence for their own class
and look flipped to the mixture bound. Measured with 20% planted flips (flag count /
planted, precision, F1; no cap -> odds >= 3 -> odds >= 10): Banking77 subsets of 77 x 6
rows 2.8x / 0.35 / 0.51 -> 2.2x / 0.41 / 0.56 -> 2.0x / 0.38 / 0.51; 40 x 8 rows 2.1x /
0.44 / 0.59 -> 1.6x / 0.53 / 0.64 -> 1.1x / 0.59 / 0.63; Banking77 at 10 per class,
uniform 1.7x / 0.54 / 0.69 -> same -> 1.4x / 0.62 / 0.72, class-conditional 1.5x / 0.25 /
0.31 -> 1.35x / 0.26 / 0.29 -> 0.8x / 0.24 / 0.21 (the loser: flips the model has learned
carry no strong evidence); 77 x 15 rows unchanged. With enough rows per class the mixture
bound holds and the cap only hurts: Debian summaries (400 per class) 1.03x -> 0.86x, F1
0.72 -> 0.70; a synthetic 54%-accurate model on 2,000 rows per class 1.00x -> 0.52x.
Precision first, as the issue asks."""

CHANCE_ALPHA = 1e-3
"""Significance level of the one-sided binomial test that the out-of-fold accuracy beats
always answering the most common class; when it does not, no row is flagged."""


def select_issues(
    y: np.ndarray,
    P: np.ndarray,
    *,
    filter_by: str = "posterior",
    seed: int = 0,
    quality: np.ndarray | None = None,
    count: str = "calibrated",
) -> Selection:
    """Flag suspect rows from out-of-sample probabilities `P` (see module docstring).

    Parameters
    ----------
    y : (n,) int array of given labels in 0..K-1.
    P : (n, K) out-of-sample class probabilities, rows summing to 1.
    filter_by : "posterior" (default) or one of cleanlab's `find_label_issues` filters.
    seed : for the simulated flips of `noise_upper_bound`.
    quality : (n,) optional ranking score in [0, 1], low = suspect (e.g. a fine-tuned
        model's out-of-fold probability of the given label); default: the geometric mean
        of `P`'s self-confidence and the noise-aware posterior.
    count : "calibrated" (default, see below) or "confident_joint" (cleanlab's count
        alone: what a training pass drops before the next one).

    Returns
    -------
    Selection. With "posterior", the `num_issues` rows of lowest `quality` are flagged;
    `num_issues` is the smaller of cleanlab's confident-joint count and the mixture
    bound `noise_upper_bound` (the confident joint counts a weak model's own mistakes
    as label errors: 5.9-6.8x the planted flips at 2% noise on Debian summaries), cut to
    the rows with strong evidence when the model is weak and has few rows per class, and
    zero when it is no better than chance.
    """
    from cleanlab.count import compute_confident_joint, estimate_joint

    n, K = P.shape
    rows = np.arange(n)
    cj = compute_confident_joint(y, P, calibrate=True)
    joint = estimate_joint(y, P, confident_joint=cj)
    count_cl = int(np.rint((1.0 - np.trace(joint)) * n))
    # noise matrix P(given=i | true=j), columns normalised. The off-diagonal shape gets one
    # pseudo-count per cell: with many classes the confident joint's off-diagonal counts
    # are sparse, and a lighter prior let an empty cell veto the model's prediction (on
    # Banking77 with uniform noise the suggested label was right for 73% of the caught
    # flips, 85% with this prior; class-conditional noise keeps its 97%)
    col = joint.sum(0, keepdims=True)
    noise = np.divide(joint, col, out=np.eye(K), where=col > 0)
    counts = cj.astype(np.float64)
    shape = counts - np.diag(np.diag(counts)) + 1.0
    np.fill_diagonal(shape, 0.0)
    shape /= np.maximum(shape.sum(0, keepdims=True), 1e-300)
    stay = np.diag(noise).copy()
    noise = shape * (1.0 - stay)[None, :]
    noise[np.arange(K), np.arange(K)] = stay
    post = P * noise[y, :]
    post /= np.maximum(post.sum(1, keepdims=True), 1e-300)
    p_correct = post[rows, y]
    other = post.copy()
    other[rows, y] = -1.0
    suggested = other.argmax(1)
    self_conf = P[rows, y]
    # label quality: geometric mean of the model's probability of the given label
    # (self-confidence, the ranking of Chong et al. 2022) and the noise-aware posterior.
    # Measured on the same out-of-fold probabilities (AUPRC): the posterior wins under
    # confusable-pair noise (Debian 0.81 vs 0.74), self-confidence under uniform noise
    # (0.83 vs 0.76; at 2% noise 0.38 vs 0.25); the mean keeps most of both (0.78, 0.81, 0.32)
    if quality is None:
        quality = np.sqrt(np.clip(self_conf, 0, 1) * np.clip(p_correct, 0, 1))

    estimates = {"confident_joint": count_cl}
    num_issues = count_cl
    if count == "calibrated":
        estimates["mixture_bound"] = noise_upper_bound(y, P, confident_joint=cj, seed=seed)
        num_issues = min(count_cl, estimates["mixture_bound"])
    acc, chance, skill, reliability = model_skill(y, P)
    if reliability == "weak" and np.median(np.bincount(y, minlength=K)) < FEW_ROWS:
        # precision first: only rows for which the model finds another label at least
        # WEAK_ODDS times as likely as the given one (trained on a handful of rows per
        # class, a model often has no evidence for a row's true class, and such rows look
        # like flipped ones to the bound)
        others = P.copy()
        others[rows, y] = 0.0
        estimates["strong_evidence"] = int((others.max(1) >= WEAK_ODDS * self_conf).sum())
        num_issues = min(num_issues, estimates["strong_evidence"])
    elif reliability == "chance":
        num_issues = 0
    if filter_by == "posterior":
        issues = np.zeros(n, dtype=bool)
        if num_issues > 0:
            issues[np.argsort(quality, kind="stable")[:num_issues]] = True
    elif filter_by in CLEANLAB_FILTERS:
        from cleanlab.filter import find_label_issues

        issues = find_label_issues(y, P, filter_by=filter_by, confident_joint=cj, n_jobs=1)
        if reliability == "chance":
            issues[:] = False
    else:
        from dataqa.errors import DataQAError

        raise DataQAError(
            f"unknown filter_by {filter_by!r}", hint=f"choose from: {', '.join(FILTERS)}"
        )
    return Selection(
        issues=issues,
        quality=quality,
        p_correct=p_correct,
        suggested=suggested,
        suggested_prob=post[rows, suggested],
        joint=joint,
        num_issues=int(num_issues),
        estimates=estimates,
        oof_accuracy=acc,
        chance=chance,
        skill=skill,
        reliability=reliability,
    )


def model_skill(y: np.ndarray, P: np.ndarray) -> tuple[float, float, float, str]:
    """(accuracy, chance accuracy, skill, reliability) of out-of-fold probabilities `P`.

    Accuracy is against the given labels; chance is the share of the most common class.
    Skill is McFadden's pseudo-R2, 1 - (log loss of P) / (log loss of the class prior): 0
    when the model knows no more than the class shares. Reliability is "chance" when
    skill <= 0, or when a one-sided binomial test cannot tell the accuracy from chance
    (p >= CHANCE_ALPHA) and skill < 0.05 (an imbalanced set can carry information without
    beating the majority class); "weak" when the accuracy is below WEAK_ACCURACY; else "ok".
    """
    from scipy.stats import binomtest

    n, K = P.shape
    rows = np.arange(n)
    prior = np.bincount(y, minlength=K) / n
    right = P.argmax(1) == y
    chance = float(prior.max())
    ll_model = -np.log(np.clip(P[rows, y], 1e-12, None)).mean()
    ll_prior = -np.log(np.clip(prior[y], 1e-12, None)).mean()
    skill = float(1.0 - ll_model / ll_prior) if ll_prior > 0 else 0.0
    p_value = binomtest(int(right.sum()), n, min(chance, 1 - 1e-9), alternative="greater").pvalue
    acc = float(right.mean())
    if skill <= 0 or (p_value >= CHANCE_ALPHA and skill < 0.05):
        reliability = "chance"
    elif acc < WEAK_ACCURACY:
        reliability = "weak"
    else:
        reliability = "ok"
    return acc, chance, round(skill, 4), reliability


MIN_TAIL_ROWS = 50
"""`noise_upper_bound` reads no tail holding fewer simulated rows than this."""


def noise_upper_bound(
    y: np.ndarray,
    P: np.ndarray,
    *,
    confident_joint: np.ndarray | None = None,
    seed: int = 0,
    z: float = 1.0,
) -> int:
    """An upper bound on the number of wrong labels from the mixture of scores.

    The self-confidence `s_i = P[i, y_i]` of all rows is a mixture (1 - pi) F0 + pi F1 of
    the clean rows' and the flipped rows' distributions, so for every threshold t,
    pi <= G(t) / F1(t) with G the observed distribution (mixture proportion estimation:
    Blanchard, Lee & Scott 2010; Scott 2015). F1 is simulated without refitting anything:
    each row's out-of-sample probability of another class is what its score would be had
    its label been flipped there (rows are scored by models that never saw their label).
    The class it is flipped to is drawn from the confident joint's off-diagonal column of
    the class the model predicts for it (where cleanlab sees labels of that class go); without that, flips into a neighbouring class were simulated as too easy and
    the bound fell to 0.38x the planted count under class-conditional noise on Banking77
    (0.89x with it). The bound is tight where clean rows almost never score (the left
    tail); unlike the confident joint's count it does not grow with a weak model's own
    mistakes on hard but correctly labelled rows. Each G(t) count gets `z` Poisson
    standard errors (+1), so a tail with a handful of rows cannot drive the minimum to
    zero; t runs over the 10th to 98th percentiles of the simulated scores, and never
    below MIN_TAIL_ROWS simulated rows (lower, the minimum chased sampling dips: 0.68x the
    planted count on 719 Banking77 rows from the 2nd percentile, 0.87x from the 10th; 4 of
    12 planted flips in 120 long documents, 12 of 12 from 50 rows).
    """
    n, K = P.shape
    if n == 0 or K < 2:
        return 0
    rng = np.random.default_rng(seed)
    rows = np.arange(n)
    if confident_joint is None:
        from cleanlab.count import compute_confident_joint

        confident_joint = compute_confident_joint(y, P, calibrate=True)
    shape = np.asarray(confident_joint, dtype=np.float64) + 1e-9  # [given, true]
    np.fill_diagonal(shape, 0.0)
    shape /= shape.sum(0, keepdims=True)
    cum = np.cumsum(shape, axis=0)  # column j: where a label of true class j goes
    # flip each row away from the class the model believes, not from its given label: a
    # row already mislabelled into class i is not a sample of how class i's rows look when
    # flipped (with 20% class-conditional noise those rows made the simulated tail 8x too
    # heavy: 0.21x the planted count on Banking77 pass-1 probabilities, 0.51x from argmax)
    base = P.argmax(1)
    u = rng.random(n)
    flipped_to = np.minimum((cum[:, base] < u[None, :]).sum(0), K - 1)
    flipped_to = np.where(flipped_to == base, (base + 1) % K, flipped_to)
    s = np.sort(P[rows, y])
    sim = np.sort(P[rows, flipped_to])
    best = float(n)
    lowest = min(0.9, max(0.1, MIN_TAIL_ROWS / n))
    for q in np.linspace(lowest, 0.98, 45):
        t = sim[int(q * (n - 1))]
        below = np.searchsorted(sim, t, side="right") / n
        g = np.searchsorted(s, t, side="right")
        if below > 0:
            best = min(best, (g + z * np.sqrt(g) + 1.0) / below)
    return int(min(n, np.rint(best)))
