"""Comparing a re-run's final_info.json with the original's, metric by metric.

A metric agrees when |re-run − original| <= max(2·sqrt(se_o² + se_r²), tolerance), where se_o and se_r are the
stderrs the two runs report (0 when they report none) and tolerance is the template's declared `tolerance` (0
when it declares none); with neither, that is an exact match, up to float rounding (EXACT_REL). A metric that
is unreached in the original must be unreached in the re-run too, and the other way round. Timing metrics
agree loosely (within a factor TIMING_FACTOR) and are reported apart: they never count for the rate.
"""

import math
from typing import Any, Literal

from pydantic import BaseModel

from aisci.experiment.notes import is_timing
from aisci.templates import UNREACHED_KEY, TemplateSpec

STDERR_SIGMAS = 2.0
EXACT_REL = 1e-9  # "exact": equal but for the last bits of float rounding
TIMING_FACTOR = 3.0

Basis = Literal["stderr", "tolerance", "exact", "timing", "unreached", "missing"]


class MetricCheck(BaseModel):
    """One metric of one group: the original, the re-run, and whether they agree and by which rule."""

    group: str
    metric: str
    timing: bool
    original: float | None  # None: unreached or not reported
    rerun: float | None
    original_stderr: float | None = None
    rerun_stderr: float | None = None
    difference: float | None = None  # re-run minus original
    allowed: float | None = None  # the largest |difference| that agrees
    basis: Basis
    agree: bool
    note: str = ""

    @property
    def name(self) -> str:
        return f"{self.group}.{self.metric}"


def compare(original: dict[str, Any], rerun: dict[str, Any], spec: TemplateSpec) -> list[MetricCheck]:
    """Every metric either run reports, reached or not, in the original's order."""
    checks = []
    for group in [*original, *(g for g in rerun if g not in original)]:
        before, after = original.get(group, {}), rerun.get(group, {})
        names = _names(before) + [m for m in _names(after) if m not in _names(before)]
        checks += [_check(group, m, _state(before, m), _state(after, m), spec) for m in names]
    return checks


def unchecked(original: dict[str, Any], spec: TemplateSpec, note: str) -> list[MetricCheck]:
    """The original's metrics, none of them reproduced: the run could not be re-run, or failed."""
    return [
        MetricCheck(
            group=group,
            metric=metric,
            timing=is_timing(spec, metric),
            original=value[0] if (value := _state(entry, metric)) not in ("unreached", None) else None,
            rerun=None,
            basis="missing",
            agree=False,
            note=note,
        )
        for group, entry in original.items()
        for metric in _names(entry)
    ]


def _names(entry: Any) -> list[str]:
    if not isinstance(entry, dict):
        return []
    means, unreached = entry.get("means", {}), entry.get(UNREACHED_KEY, [])
    return list(dict.fromkeys([*means, *unreached]))


def _state(entry: Any, metric: str) -> tuple[float, float] | Literal["unreached"] | None:
    """(mean, stderr) when reported, "unreached" when listed so, None when absent."""
    if not isinstance(entry, dict):
        return None
    means = entry.get("means", {})
    if metric in means:
        stderr = entry.get("stderrs", {}).get(metric)
        ok = isinstance(stderr, int | float) and not isinstance(stderr, bool) and math.isfinite(stderr)
        return float(means[metric]), abs(float(stderr)) if ok else 0.0
    return "unreached" if metric in entry.get(UNREACHED_KEY, []) else None


def _check(group: str, metric: str, before: Any, after: Any, spec: TemplateSpec) -> MetricCheck:
    timing = is_timing(spec, metric)
    fields: dict[str, Any] = {"group": group, "metric": metric, "timing": timing}
    if before is None or after is None:
        where = "the re-run" if after is None else "the original"
        value = before if after is None else after
        number = value[0] if isinstance(value, tuple) else None
        return MetricCheck(
            **fields,
            original=number if after is None else None,
            rerun=number if before is None else None,
            basis="missing",
            agree=False,
            note=f"not in {where}",
        )
    if before == "unreached" or after == "unreached":
        agree = before == after
        note = "" if agree else f"reached only in {'the re-run' if before == 'unreached' else 'the original'}"
        return MetricCheck(
            **fields,
            original=None if before == "unreached" else before[0],
            rerun=None if after == "unreached" else after[0],
            basis="unreached",
            agree=agree,
            note=note,
        )
    (o, se_o), (r, se_r) = before, after
    diff = r - o
    fields |= {"original": o, "rerun": r, "original_stderr": se_o or None, "rerun_stderr": se_r or None}
    if timing:
        agree = o == r or (o * r > 0 and max(abs(o), abs(r)) <= TIMING_FACTOR * min(abs(o), abs(r)))
        return MetricCheck(**fields, difference=diff, basis="timing", agree=agree)
    by_stderr = STDERR_SIGMAS * math.hypot(se_o, se_r)
    tolerance = spec.metric(metric).tolerance or 0.0
    rounding = EXACT_REL * max(abs(o), abs(r))
    allowed = max(by_stderr, tolerance)
    basis: Basis = "exact" if allowed == 0 else ("stderr" if by_stderr >= tolerance else "tolerance")
    return MetricCheck(
        **fields, difference=diff, allowed=allowed, basis=basis, agree=abs(diff) <= allowed + rounding
    )
