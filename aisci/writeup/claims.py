"""The claim check: numbers and comparisons in the prose, verified against the results.

Language models misjudge which of two numbers is larger and round or invent figures; every measurement a
section quotes must be a result (or a difference or relative change between two results), and every
"lower", "improves" or "x% better" must point the way the data do.
"""

import re
from itertools import permutations

from pydantic import BaseModel

from aisci.writeup.results import Results, metric_direction

_STRIP = re.compile(
    r"\\(?:ref|eqref|label|cite[tp]?|citep|citet|includegraphics|begin|end|input|url|href)\*?(?:\[[^\]]*\])*\{[^}]*\}"
    r"|\[width=[^\]]*\]|(?<!\\)%.*$",
    re.MULTILINE,
)
_NUMBER = re.compile(r"(?<![\w.])(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(\s*(?:\\%|%|percent\b|\\,\\%))?")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\\$(])")
LOWER = (
    "lower",
    "smaller",
    "fewer",
    "reduce",
    "reduces",
    "reduced",
    "reduction",
    "decrease",
    "decreases",
    "decreased",
    "drops",
    "dropped",
)
HIGHER = ("higher", "larger", "greater", "increase", "increases", "increased", "raises", "rises", "grows")
BETTER = ("better", "improve", "improves", "improved", "improvement", "outperforms", "outperform")
WORSE = ("worse", "degrades", "degraded", "hurts", "underperforms")
NEGATION = re.compile(r"\b(?:not|no|never|neither|nor)\b|n't\b", re.IGNORECASE)


class Claim(BaseModel):
    """A statement in the prose that disagrees with the results."""

    kind: str  # "number" or "comparison"
    sentence: str
    problem: str


class ClaimCheck(BaseModel):
    checked: int = 0
    mismatches: list[Claim] = []


def prose(latex: str) -> str:
    """The text of a section without references, labels, file names and comments, where numbers are noise."""
    return _STRIP.sub(" ", latex)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(" ".join(text.split())) if s.strip()]


def check_claims(latex: str, results: Results, known: set[float] = frozenset()) -> ClaimCheck:
    """Every measured-looking number (decimals, percentages) and every comparison, checked.

    `known` holds numbers the paper may quote that are not results (hyperparameters from the notes)."""
    report = ClaimCheck()
    values = results.values()
    series = results.series()
    for sentence in sentences(prose(latex)):
        numbers = _numbers(sentence)
        for text, value, decimals, percent in numbers:
            if not percent and "." not in text and "e" not in text.lower():
                continue  # integers are counts, steps and sizes, not measurements
            report.checked += 1
            if not _number_ok(value, decimals, percent, values, series, known):
                what = f"{text}%" if percent else text
                report.mismatches.append(
                    Claim(
                        kind="number",
                        sentence=sentence,
                        problem=f"{what} is not a result, nor a difference "
                        "or relative change between two results",
                    )
                )
        problem = _comparison_problem(sentence, numbers, results)
        if problem is not None:
            report.checked += 1
            if problem:
                report.mismatches.append(Claim(kind="comparison", sentence=sentence, problem=problem))
    return report


def _numbers(sentence: str) -> list[tuple[str, float, int, bool]]:
    out = []
    for m in _NUMBER.finditer(sentence):
        text = m.group(1)
        mantissa = re.split(r"[eE]", text)[0]
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        if "e" in text.lower():
            decimals = max(decimals - int(re.split(r"[eE]", text)[1]), 0)
        out.append((text, float(text), decimals, bool(m.group(2))))
    return out


def _close(shown: float, value: float, decimals: int) -> bool:
    """`shown` is `value` rounded to the decimals shown (either way at the half)."""
    return abs(shown - value) <= 0.5 * 10**-decimals * 1.0001 + 1e-12


def _number_ok(value, decimals, percent, values, series, known) -> bool:
    if any(_close(value, k, decimals) for k in known):
        return True
    candidates = [abs(v) for v in values]
    for by_run in series.values():
        for a, b in permutations(by_run.values(), 2):
            if percent and b:
                candidates.append(abs(a - b) / abs(b) * 100)
            elif not percent:
                candidates.append(abs(a - b))
    if percent:
        candidates += [abs(v) * 100 for v in values] + [abs(v) for v in values]
    return any(_close(abs(value), c, decimals) for c in candidates)


def _direction_words(sentence: str) -> tuple[str, int, bool] | None:
    """(word, +1 higher / -1 lower, relative to the metric's goodness?) for the first comparative word."""
    for word in re.findall(r"[a-z]+", sentence.lower()):
        for words, sign, relative in (
            (LOWER, -1, False),
            (HIGHER, 1, False),
            (BETTER, 1, True),
            (WORSE, -1, True),
        ):
            if word in words:
                return word, sign, relative
    return None


def _comparison_problem(sentence: str, numbers: list, results: Results) -> str | None:
    """None: no checkable comparison; "": it holds; otherwise what is wrong."""
    found = _direction_words(sentence)
    if found is None or NEGATION.search(sentence):
        return None
    word, sign, relative = found
    lowered = sentence.lower().replace("\\_", "_")
    metrics = [(g, m) for (g, m) in results.series() if _mentions(lowered, m)]
    groups = [g for g in results.groups if re.search(rf"\b{re.escape(g.lower())}\b", lowered)]
    if groups:
        metrics = [(g, m) for g, m in metrics if g in groups]
    if not metrics:
        return None
    if relative:
        directions = {metric_direction(m) for _, m in metrics}
        if len(directions) != 1 or 0 in directions:
            return None
        sign *= directions.pop()
    pair = _number_pair(sentence, numbers, metrics, results) or _run_pair(lowered, results)
    if pair is None:
        return None
    first, second = pair
    wrong = []
    held = []
    for group, metric in metrics:
        by_run = results.series()[(group, metric)]
        a, b = (first, second) if isinstance(first, float) else (by_run.get(first), by_run.get(second))
        if a is None or b is None or a == b:
            continue
        (held if (a - b) * sign > 0 else wrong).append(f"{group}/{metric}")
        if isinstance(first, float):
            break
    if not wrong:
        return ""
    truth = "the opposite holds" if not held else f"it holds only for {', '.join(held)}"
    return f"'{word}' is wrong for {', '.join(wrong)}: {truth} in the results"


def _mentions(text: str, metric: str) -> bool:
    name = metric.lower()
    variants = {name, name.replace("_", " "), name.replace("_", "-")}
    return any(re.search(rf"(?<![a-z]){re.escape(v)}(?![a-z])", text) for v in variants)


def _number_pair(sentence, numbers, metrics, results) -> tuple[float, float] | None:
    """Two quoted results of one compared metric: "from A to B" compares B with A, "A ... than B" A with B."""
    quoted = [
        value
        for _, value, decimals, percent in numbers
        if not percent and _is_result(value, decimals, metrics, results)
    ]
    if len(quoted) < 2:
        return None
    a, b = quoted[0], quoted[1]
    if re.search(r"\bfrom\s+\$?-?\d", sentence):
        return b, a
    return a, b


def _is_result(value: float, decimals: int, metrics, results: Results) -> bool:
    series = results.series()
    return any(_close(value, v, decimals) for key in metrics for v in series[key].values())


def _run_pair(text: str, results: Results) -> tuple[int, int] | None:
    """The run a sentence is about and the one it is compared with (the baseline unless another is named)."""
    indices = [r.index for r in results.runs]
    named = []
    for m in re.finditer(r"\brun\s*~?(\d+)\b|\bbaseline\b", text):
        index = int(m.group(1)) if m.group(1) else 0
        if index in indices and index not in named:
            named.append(index)
    if not named or (len(named) == 1 and named[0] == 0):
        return None
    return (named[0], named[1]) if len(named) > 1 else (named[0], 0)
