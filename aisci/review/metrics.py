"""Classification metrics of accept/reject predictions, with percentile bootstrap confidence intervals.

Accept is the positive class. ROC-AUC ranks papers by the reviewer's mean Overall score, so it measures the
scores themselves, independent of the threshold.
"""

import math

import numpy as np
from pydantic import BaseModel

METRICS = ("accuracy", "balanced_accuracy", "f1", "roc_auc", "fpr", "fnr")


class Interval(BaseModel):
    value: float
    low: float
    high: float


class Confusion(BaseModel):
    tp: int
    fp: int
    tn: int
    fn: int


def confusion(truth: np.ndarray | list[bool], predicted: np.ndarray | list[bool]) -> Confusion:
    truth, predicted = np.asarray(truth, bool), np.asarray(predicted, bool)
    return Confusion(
        tp=int(np.sum(truth & predicted)),
        fp=int(np.sum(~truth & predicted)),
        tn=int(np.sum(~truth & ~predicted)),
        fn=int(np.sum(truth & ~predicted)),
    )


def _ratio(num: int, den: int) -> float:
    return num / den if den else math.nan


def roc_auc(truth: np.ndarray, scores: np.ndarray) -> float:
    """The probability that an accepted paper scores above a rejected one (ties count half)."""
    from scipy.stats import rankdata

    truth = truth.astype(bool)
    positives, negatives = int(truth.sum()), int((~truth).sum())
    if not positives or not negatives:
        return math.nan
    ranks = rankdata(scores)
    return float((ranks[truth].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def point_metrics(truth: np.ndarray, predicted: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    c = confusion(truth, predicted)
    tpr, tnr = _ratio(c.tp, c.tp + c.fn), _ratio(c.tn, c.tn + c.fp)
    return {
        "accuracy": _ratio(c.tp + c.tn, c.tp + c.tn + c.fp + c.fn),
        "balanced_accuracy": (tpr + tnr) / 2,
        "f1": _ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn),
        "roc_auc": roc_auc(truth, scores),
        "fpr": _ratio(c.fp, c.fp + c.tn),
        "fnr": _ratio(c.fn, c.fn + c.tp),
    }


def bootstrap(
    truth: list[bool],
    predicted: list[bool],
    scores: list[float],
    samples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, Interval]:
    """Each metric with a percentile interval over papers resampled with replacement.

    Resamples where a metric is undefined (e.g. no accepted paper drawn) are left out of its interval."""
    y, p, s = np.asarray(truth, bool), np.asarray(predicted, bool), np.asarray(scores, float)
    point = point_metrics(y, p, s)
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {name: [] for name in METRICS}
    for _ in range(samples if len(y) else 0):
        idx = rng.integers(0, len(y), len(y))
        for name, value in point_metrics(y[idx], p[idx], s[idx]).items():
            if not math.isnan(value):
                draws[name].append(value)
    tail = (1 - level) / 2 * 100
    result = {}
    for name in METRICS:
        values = draws[name]
        low, high = np.percentile(values, [tail, 100 - tail]) if values else (math.nan, math.nan)
        result[name] = Interval(value=point[name], low=float(low), high=float(high))
    return result
