"""The decision threshold fitted per model and reviewing set-up, from papers with known decisions.

A model's Overall scores can rank papers well and still sit on another scale than the AI Scientist's fixed
threshold of 6 assumes. `aisci bench review` fits the threshold on one part of its papers, measures it on
the rest, and writes it to `<calibration dir>/<model>-e<E>-r<R>.json`; reviews by the same model and set-up
then decide with it.
"""

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from aisci.errors import ConfigError
from aisci.review.form import Threshold
from aisci.review.metrics import Interval, bootstrap
from aisci.review.reviewer import ReviewConfig
from aisci.settings import Settings

DEFAULT_THRESHOLD = 6.0  # the AI Scientist's: a mean Overall of 6 or more accepts
MIN_PER_CLASS = 2  # accepted and rejected papers each part needs at least


class HeldOut(BaseModel):
    """The fitted and the fixed threshold measured on the papers the fit never saw."""

    papers: list[str]
    calibrated: dict[str, Interval]
    fixed: dict[str, Interval]


class Calibration(BaseModel):
    """The file `aisci bench review` writes and reviews read."""

    model: str
    setup: str = Field(description="the model and reviewing set-up, the file's name")
    threshold: float = Field(ge=1, le=10, description="mean Overall at or above which a paper is accepted")
    fixed_threshold: float
    fitted_on: list[str] = Field(description="the papers the threshold was fitted on")
    held_out: HeldOut
    data: str
    created: str


def setup_name(model: str, config: ReviewConfig) -> str:
    """The model and everything of the set-up that changes its scores: E, R and the few-shot examples."""
    name = f"{re.sub(r'[^A-Za-z0-9._-]+', '_', model)}-e{config.ensemble}-r{config.reflections}"
    if config.examples:
        digest = hashlib.sha256("".join(e.model_dump_json() for e in config.examples).encode()).hexdigest()
        name += f"-fewshot{digest[:8]}"
    return name


def calibration_path(settings: Settings, config: ReviewConfig) -> Path:
    folder = settings.calibration_dir or settings.workspace / "calibration"
    return folder / f"{setup_name(settings.model_for('review'), config)}.json"


def decision_threshold(settings: Settings, config: ReviewConfig) -> Threshold:
    """The threshold given in the config, else the calibrated one of this model and set-up, else 6."""
    if config.threshold is not None:
        return Threshold(value=config.threshold, source="given")
    path = calibration_path(settings, config)
    if not path.is_file():
        return Threshold(value=DEFAULT_THRESHOLD, source="default")
    try:
        calibration = Calibration.model_validate_json(path.read_text())
    except ValidationError as exc:
        raise ConfigError(
            f"{path} is not a calibration: {exc.errors()[0]['msg']}",
            hint="run `aisci bench review` again to rewrite it, or delete it to decide at 6",
        ) from None
    return Threshold(value=calibration.threshold, source=str(path))


def split(
    ids: list[str], truth: list[bool], held_out_share: float, seed: int = 0
) -> tuple[list[int], list[int]]:
    """Indices of the calibration part and the held-out part, stratified by decision.

    Each paper's place follows from a hash of its id, so adding papers never moves the ones already placed
    from one part to the other by chance of order."""
    fit, held = [], []
    for label in (True, False):
        members = [i for i, t in enumerate(truth) if t == label]
        members.sort(key=lambda i: hashlib.sha256(f"{seed}:{ids[i]}".encode()).hexdigest())
        cut = round(len(members) * held_out_share)
        held += members[:cut]
        fit += members[cut:]
    return sorted(fit), sorted(held)


def fit_threshold(truth: list[bool], scores: list[float], prior: float = DEFAULT_THRESHOLD) -> float:
    """The threshold of best balanced accuracy: a midpoint between neighbouring scores (or the lowest
    score, accepting all); of equally good ones, the nearest to `prior`."""
    y, s = np.asarray(truth, bool), np.asarray(scores, float)
    distinct = np.unique(s)
    candidates = np.clip(
        np.concatenate([distinct[:1], (distinct[:-1] + distinct[1:]) / 2, distinct[-1:] + 0.5]), 1, 10
    )

    def balanced(t: float) -> float:
        return (np.mean(s[y] >= t) + np.mean(s[~y] < t)) / 2

    best = max(balanced(t) for t in candidates)
    return float(min((t for t in candidates if balanced(t) == best), key=lambda t: (abs(t - prior), t)))


def calibrate(
    ids: list[str],
    truth: list[bool],
    scores: list[float],
    model: str,
    config: ReviewConfig,
    data: str,
    held_out_share: float = 0.5,
    fixed: float = DEFAULT_THRESHOLD,
) -> Calibration:
    """Fit on one part of the papers, measure on the other. Raises ValueError when a part would lack
    MIN_PER_CLASS accepted or rejected papers."""
    fit, held = split(ids, truth, held_out_share)
    for name, part in (("calibration", fit), ("held-out", held)):
        accepted = sum(truth[i] for i in part)
        if min(accepted, len(part) - accepted) < MIN_PER_CLASS:
            raise ValueError(
                f"too few papers to calibrate: the {name} part has {accepted} accepted and "
                f"{len(part) - accepted} rejected, it needs {MIN_PER_CLASS} of each"
            )
    threshold = fit_threshold([truth[i] for i in fit], [scores[i] for i in fit], prior=fixed)
    y, s = [truth[i] for i in held], [scores[i] for i in held]
    return Calibration(
        model=model,
        setup=setup_name(model, config),
        threshold=threshold,
        fixed_threshold=fixed,
        fitted_on=[ids[i] for i in fit],
        held_out=HeldOut(
            papers=[ids[i] for i in held],
            calibrated=bootstrap(y, [v >= threshold for v in s], s),
            fixed=bootstrap(y, [v >= fixed for v in s], s),
        ),
        data=data,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
