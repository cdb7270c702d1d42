"""The claim check: numbers and comparisons in the prose, verified against the results.

Language models misjudge which of two numbers is larger and round or invent figures. Every measurement a
section quotes must be a result, or a difference, ratio or relative change between two results (within the
rounding of the four significant digits the writer was shown), or a number the caller knows (configuration,
idea text). Every "lower", "improves", "outperforms" or "faster" must point the way the data do, read by
meaning: which run is the subject and which the reference, not which is named first. A comparison whose
sides cannot be told, or that is negated or hypothetical, is left alone: a false alarm costs a rewrite.
"""

import math
import re
from bisect import bisect_right
from collections.abc import Iterable
from itertools import accumulate, combinations, permutations
from typing import NamedTuple

from pydantic import BaseModel

from aisci.numbers import fmt
from aisci.writeup.results import Results

_STRIP = re.compile(
    r"\\(?:ref|eqref|label|cite[tp]?|citep|citet|includegraphics|begin|end|input|url|href)\*?(?:\[[^\]]*\])*\{[^}]*\}"
    r"|\[width=[^\]]*\]|(?<!\\)%.*$",
    re.MULTILINE,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\\$(])")
_NUMBER = re.compile(
    r"(?<![\w.])(?<![a-z]-)(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)"
    r"(\s*(?:%|percent\b|percentage\s+points?\b|pp\b)|\s*(?:×|x\b|-?fold\b|times\b))?",
    re.IGNORECASE,
)
_NOT_MEASURED = re.compile(
    r"\b(?:section|sec|figure|fig|table|tab|eq|equation|appendix|algorithm|line|version)\.?\s*~?$",
    re.IGNORECASE,
)
_FACTOR = re.compile(r"\bfactor\s+of\s*$", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+")
_CLAUSE = re.compile(r";|\b(?:but|whereas|while|although|though|yet)\b")
_SKIP = re.compile(
    r"\b(?:not|no|never|neither|nor|without|cannot|if|whether|would|could|might|may|expect\w*|hypothes\w*"
    r"|predict\w*)\b|n't\b"
)
_RULES = re.compile(r"\b(?:the\s+)?(?:lower|higher)(?:\s+is|,)?\s+(?:the\s+)?better\b")
_RUN_NAME = re.compile(r"\bruns?(?:\s*~\s*|\s*|\\?_)(\d+(?:\s*(?:,\s*)?(?:and|&|,)\s*~?\d+)*)\b|\bbaseline\b")
_REFERENCE = re.compile(
    r"(?:\bthan|\bcompared\s+(?:with|to)|\bcomparison\s+(?:with|to)|\brelative\s+to|\bversus|\bvs\.?"
    r"|\bagainst|\bover|\bfrom|\bwith\s+respect\s+to|\bunlike)"
    r"\s+(?:(?:with|for|in|under|on|by|of)\s+)?(?:(?:that|those)\s+of\s+)?(?:both\s+|all\s+)?(?:the\s+)?"
    r"(?:[a-z][a-z-]*\s+){0,2}$"  # "than the linear baseline"
)
_AGENT = re.compile(r"\bby\s+(?:the\s+)?$")
_OF = re.compile(r"\bof\s+(?:the\s+)?$")
_LIST = re.compile(r"^\s*(?:['’]s)?\s*,?\s*(?:and|or|&|as\s+well\s+as)\s+(?:the\s+)?$")


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Words between a comparative and what it compares: "lower than that of the baseline", "a slightly higher".
_FILLER = _wordset(
    "the a an its their both all each also much slightly significantly considerably substantially markedly "
    "further even still final mean average overall than in on for at across over with by to of from and or s "
    "relative compared respect that those is are was were be consistently clearly clear above below up down "
    "percent percentage points pp x times fold it them this these"
)
# Metric-name words too common in prose to name a metric on their own.
_LOOSE_STOP = _wordset(
    "rate size step steps val train test eval mean final best total avg std num number count per to at of in "
    "the and max min last first"
)


class _Word(NamedTuple):
    """What a comparative says. kind: "abs" on the value, "good" on the metric's declared direction, "time"
    on timing metrics only. role: "adj" or "most" (superlative); "verb", whose object may be a run's
    metric ("reduces the baseline's loss"); "beat", whose object is the reference run."""

    sign: int  # +1: the subject's value is higher (better, for "good"); -1: lower
    kind: str
    role: str


_Found = tuple[int, str, _Word]  # a comparative in a clause: where, which word, what it says


def _words(names: str, sign: int, kind: str, role: str) -> dict[str, _Word]:
    return dict.fromkeys(names.split(), _Word(sign, kind, role))


COMPARATIVES: dict[str, _Word] = {
    **_words("lower smaller fewer reduction decrease drop decline", -1, "abs", "adj"),
    **_words(
        "lowers lowered lowering reduce reduces reduced reducing decreases decreased decreasing drops "
        "dropped cuts halves halved shrinks declines declined",
        -1,
        "abs",
        "verb",
    ),
    **_words("higher larger greater increase rise growth", 1, "abs", "adj"),
    **_words(
        "raise raises raised raising increases increased increasing rises rose grows grew boosts boosted "
        "doubles doubled",
        1,
        "abs",
        "verb",
    ),
    **_words("exceeds exceeded", 1, "abs", "beat"),
    **_words("better improvement superior", 1, "good", "adj"),
    **_words("improve improves improved improving", 1, "good", "verb"),
    **_words(
        "outperform outperforms outperformed outperforming beats surpasses surpassed", 1, "good", "beat"
    ),
    **_words("worse inferior degradation", -1, "good", "adj"),
    **_words("degrades degraded worsens worsened hurts", -1, "good", "verb"),
    **_words("underperforms underperformed trails trailed", -1, "good", "beat"),
    **_words("faster quicker speedup", -1, "time", "adj"),
    **_words("slower slowdown", 1, "time", "adj"),
    **_words("lowest smallest fewest", -1, "abs", "most"),
    **_words("highest largest greatest", 1, "abs", "most"),
    **_words("best", 1, "good", "most"),
    **_words("worst", -1, "good", "most"),
    **_words("fastest", -1, "time", "most"),
    **_words("slowest", 1, "time", "most"),
}


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


def check_claims(latex: str, results: Results, known: Iterable[float] = frozenset()) -> ClaimCheck:
    """Every measured-looking number (decimals, percentages, ratios) and every comparison, checked.

    `known` holds numbers the paper may quote that are not results: the runs' configuration, the idea's
    text, the facts the writer was given."""
    report = ClaimCheck()
    accepted = _Accepted(results, known)
    vocabulary = _Vocabulary(results)
    for sentence in sentences(prose(latex)):
        for number in numbers(sentence):
            if number.integer:
                continue  # counts, steps and sizes, not measurements
            report.checked += 1
            if not accepted.holds(number):
                report.mismatches.append(
                    Claim(
                        kind="number",
                        sentence=sentence,
                        problem=f"{number.shown} is not a result, nor a difference, ratio "
                        "or relative change between two results",
                    )
                )
        checked, problems = _comparisons(sentence, results, vocabulary)
        report.checked += checked
        report.mismatches += [Claim(kind="comparison", sentence=sentence, problem=p) for p in problems]
    return report


# -----------------------------------------------------------------------------
# numbers


class Number(NamedTuple):
    shown: str  # as the prose has it, with its unit
    value: float
    tolerance: float  # half a unit of the last digit shown
    kind: str  # "plain", "percent" or "ratio"
    integer: bool


def _plain(text: str) -> str:
    """LaTeX number notation as plain text: `$-7.9\\%$`, `2.1\\times10^{-5}`, `0.43\\pm0.01`."""
    text = text.replace("\u2212", "-").replace("\\%", "%").replace("\\,", " ").replace("$", " ")
    text = re.sub(r"\\(?:pm|mp|approx|sim|leq?|geq?)(?![a-zA-Z])", " ", text)
    text = re.sub(r"\s*(?:\\times|\\cdot|×)\s*10\^\{?([-+]?\d+)\}?", r"e\1", text)
    return text.replace("\\times", "×")


def numbers(sentence: str) -> list[Number]:
    text = _plain(sentence)
    out = []
    for m in _NUMBER.finditer(text):
        if _NOT_MEASURED.search(text[: m.start()]):
            continue
        digits, unit = m.group(1), (m.group(2) or "").strip().lower()
        mantissa, _, exponent = digits.lower().partition("e")
        decimals = len(mantissa.partition(".")[2]) - int(exponent or 0)
        kind = "percent" if unit[:1] in "%pP" and unit else "ratio" if unit else "plain"
        if _FACTOR.search(text[: m.start()]):
            kind = "ratio"
        out.append(
            Number(
                shown=digits + ("%" if kind == "percent" else "×" if kind == "ratio" else ""),
                value=float(digits),
                tolerance=0.5 * 10.0**-decimals * 1.0001 + 1e-12,
                kind=kind,
                integer=decimals <= 0 and not unit and kind == "plain",
            )
        )
    return out


def rounding(value: float) -> float:
    """How far a value may be from its four-significant-digit form, the one the writer was shown."""
    return 0.5 * 10.0 ** (math.floor(math.log10(abs(value))) - 3) if value else 0.0


class _Intervals:
    """Numbers up to a tolerance each; `meets` asks whether any of them can be a shown number."""

    def __init__(self, spans: Iterable[tuple[float, float]]):
        ordered = sorted((centre - width, centre + width) for centre, width in spans)
        self.lows = [low for low, _ in ordered]
        self.reach = list(accumulate((high for _, high in ordered), max))

    def meets(self, value: float, tolerance: float) -> bool:
        i = bisect_right(self.lows, value + tolerance) - 1
        return i >= 0 and self.reach[i] >= value - tolerance


class _Accepted:
    """What a quoted number may be, by kind: results, derived quantities and known numbers."""

    def __init__(self, results: Results, known: Iterable[float]):
        given = {abs(k) for k in known} | _defining_numbers(results)
        plain = [(k, 0.0) for k in given]
        percent = [(k, 0.0) for k in given] + [(k * 100, 0.0) for k in given]
        ratio = [(k, 0.0) for k in given]
        for value in results.values():
            error = rounding(value)
            plain.append((abs(value), error))
            percent += [(abs(value), error), (abs(value) * 100, error * 100)]
        for by_run in results.series().values():
            shown = [(v, rounding(v)) for v in by_run.values()]
            for (a, ea), (b, eb) in combinations(shown, 2):
                plain.append((abs(a - b), ea + eb))
                percent += [(abs(a - b), ea + eb), (abs(a - b) * 100, (ea + eb) * 100)]
            for (a, ea), (b, eb) in permutations(shown, 2):
                if b:
                    error = ea / abs(b) + abs(a) * eb / b**2
                    percent.append((abs(a - b) / abs(b) * 100, error * 100))
                    ratio.append((abs(a / b), error))
        self.kinds = {"plain": _Intervals(plain), "percent": _Intervals(percent), "ratio": _Intervals(ratio)}

    def holds(self, number: Number) -> bool:
        return self.kinds[number.kind].meets(
            abs(number.value), number.tolerance
        )  # a change may be quoted with either sign


def _defining_numbers(results: Results) -> set[float]:
    """Numbers in the names and definitions of metrics and groups (the 99 of `step_val_acc_99`)."""
    texts = [*results.groups, *results.metrics(), *results.labels.values(), *results.descriptions.values()]
    found = {float(n) for text in texts for n in re.findall(r"\d+(?:\.\d+)?", text)}
    return found | {n / 100 for n in found}


# -----------------------------------------------------------------------------
# comparisons


class _Mention(NamedTuple):
    start: int
    end: int
    what: tuple  # run indices, or (group, metric) keys
    loose: bool = False  # a metric named by one distinctive word: wrong only if no candidate fits


class _Names:
    """Names as word sequences, so "eval_loss", "eval\\_loss", "eval loss" and "eval-loss" read alike."""

    def __init__(self, names: Iterable[tuple[str, object]], unique: bool = False):
        index: dict[tuple[str, ...], list] = {}
        for name, value in names:
            if tokens := tuple(_WORD.findall(name.lower())):
                index.setdefault(tokens, []).append(value)
        self.index = {k: tuple(v) for k, v in index.items() if not unique or len(set(v)) == 1}
        self.longest = max(map(len, self.index), default=0)

    def find(self, text: str) -> list[_Mention]:
        """The longest names found in `text`, as whole words, left to right."""
        words = list(_WORD.finditer(text))
        out, i = [], 0
        while i < len(words):
            for n in range(min(self.longest, len(words) - i), 0, -1):
                values = self.index.get(tuple(w.group() for w in words[i : i + n]))
                if values:
                    what = tuple(dict.fromkeys(values))
                    out.append(_Mention(words[i].start(), words[i + n - 1].end(), what))
                    i += n
                    break
            else:
                i += 1
        return out


class _Vocabulary:
    """How the prose can name the runs, groups and metrics of these results."""

    def __init__(self, results: Results):
        self.results = results
        self.series = results.series()
        self.indices = {r.index for r in results.runs}
        labels = []
        for run in results.runs:
            label = re.sub(r"\([^)]*\)", " ", run.label.lower())
            label = re.sub(r"^\s*the\s+", "", label).strip()
            if len(label) >= 4 and not _RUN_NAME.fullmatch(label):
                labels.append((label, run.index))
        self.labels = _Names(labels, unique=True)
        self.groups = _Names((g, g) for g in results.groups)
        metrics = results.metrics()
        self.metrics = _Names([(m, m) for m in metrics] + [(results.label(m), m) for m in metrics])
        self.loose = _Names(
            (token, m)
            for m in metrics
            for token in set(_WORD.findall(m.lower())) - _LOOSE_STOP
            if not token.isdigit()
        )

    def runs(self, clause: str) -> list[_Mention]:
        """Runs named as "Run 2", "Run~2", "runs 1 and 2", "the baseline" or by their label."""
        found = self.labels.find(clause)
        for m in _RUN_NAME.finditer(clause):
            indices = tuple(int(n) for n in re.findall(r"\d+", m.group(1))) if m.group(1) else (0,)
            found.append(_Mention(m.start(), m.end(), indices))
        inside = [m for m in found if any(o != m and o.start <= m.start and m.end <= o.end for o in found)]
        kept = sorted(m for m in found if m not in inside)
        return [_Mention(m.start, m.end, tuple(i for i in m.what if i in self.indices)) for m in kept]

    def metric_mentions(self, clause: str) -> list[_Mention]:
        """The metrics a clause names by their full names, or loosely by a distinctive word of one
        ("loss" for eval_loss) outside those."""
        exact = self.metrics.find(clause)
        loose = [
            m._replace(loose=True)
            for m in self.loose.find(clause)
            if not any(e.start <= m.start < e.end for e in exact)
        ]
        return sorted(exact + loose)

    def keyed(self, metrics: list[_Mention], groups: list[str]) -> list[_Mention]:
        """Metric mentions as the (group, metric) keys they stand for in these groups."""
        out = []
        for m in metrics:
            keys = tuple((g, metric) for metric in m.what for g in groups if (g, metric) in self.series)
            if keys:
                out.append(m._replace(what=keys))
        return out


class _Sides(NamedTuple):
    subjects: list[int]
    references: list[int]  # empty: the baseline, or every other run for a superlative
    at: dict[int, int]  # subject -> where this clause names it; empty when taken from an earlier clause


def _comparisons(sentence: str, results: Results, vocabulary: _Vocabulary) -> tuple[int, list[str]]:
    """(comparisons checked, what is wrong with them), clause by clause. A clause that names no run, group
    or metric continues the previous one: "Run 1 lowers the loss on moons, while on circle it raises it"."""
    checked, problems = 0, []
    sides: _Sides | None = None
    named_runs = False
    groups, previous_metrics = results.groups, []
    text = _RULES.sub(lambda m: " " * len(m.group()), sentence.lower())
    for clause in _CLAUSE.split(text):
        words = [
            (m.start(), m.group(), COMPARATIVES[m.group()])
            for m in _WORD.finditer(clause)
            if m.group() in COMPARATIVES
        ]
        mentions = vocabulary.runs(clause)
        if mentions:
            named_runs, sides = True, _sides(clause, mentions, words, sides)
        elif sides is not None:
            sides = sides._replace(at={})
        positions = [p for p, _, _ in words]
        named_groups = vocabulary.groups.find(clause)
        groups = [g for m in named_groups for g in m.what] or groups
        named_metrics = vocabulary.metric_mentions(clause)
        metrics = vocabulary.keyed(named_metrics, groups)
        words = [w for w in words if not _qualifies_other(clause, w, metrics, mentions + named_groups)]
        if not named_metrics and len(words) == 1:
            metrics = [
                m._replace(start=len(clause), end=len(clause))
                for m in vocabulary.keyed(previous_metrics, groups)
            ]
        previous_metrics = named_metrics or previous_metrics
        if not words or _SKIP.search(clause):
            continue
        quoted = [n for n in numbers(clause) if n.kind == "plain"]
        for (position, word, meaning), assigned in _assign(clause, words, metrics).items():
            if sides is not None:
                own = _own_subjects(sides, positions, position)
                verdict = _judge(word, meaning, assigned, own, quoted, vocabulary)
            elif not named_runs:
                verdict = _judge_numbers(clause, word, meaning, assigned, quoted, vocabulary)
            else:
                verdict = None
            if verdict is not None:
                checked += 1
                problems += [verdict] if verdict else []
    return checked, problems


def _sides(
    clause: str, mentions: list[_Mention], words: list[_Found], before: _Sides | None
) -> _Sides | None:
    """Which runs a clause compares: a run after "than", "compared with", "over", ... is the reference, so
    is the object of "outperforms" and the owner after "reduces the loss of"; "by" marks the subject. A
    clause naming only a reference keeps the subject of the clause `before` it."""
    beats = [p for p, _, w in words if w.role == "beat"]
    verbs = [p for p, _, w in words if w.role == "verb"]
    subjects: list[int] = []
    references: list[int] = []
    at: dict[int, int] = {}
    role, previous_end = "", None
    for mention in mentions:
        text = clause[: mention.start]
        if previous_end is not None and _LIST.match(clause[previous_end : mention.start]):
            pass  # "the baseline and Run 2": the role of the run before
        elif _REFERENCE.search(text):
            role = "reference"
        elif _AGENT.search(text):
            role = "subject"
        else:
            owner = _OF.search(text) or re.match(r"['’]", clause[mention.end :])
            after_beat = any(p < mention.start for p in beats)
            after_verb = any(p < mention.start for p in verbs)
            role = "reference" if after_beat or (after_verb and owner) else "subject"
        (references if role == "reference" else subjects).extend(mention.what)
        if role == "subject":
            at |= {i: mention.start for i in mention.what if i not in at}
        previous_end = mention.end
    if not subjects and before is not None:
        subjects, at = before.subjects, {}
    subjects = [i for i in dict.fromkeys(subjects) if i not in references]
    return _Sides(subjects, list(dict.fromkeys(references)), at) if subjects else None


def _own_subjects(sides: _Sides, positions: list[int], position: int) -> _Sides:
    """In "Run 3 raises the loss, and Run 2 lowers the time" each word has its own subject: the runs
    named between the comparative before it and it, when there are any."""
    start = max((p for p in positions if p < position), default=-1)
    near = [i for i in sides.subjects if start < sides.at.get(i, -1) < position]
    return sides._replace(subjects=near) if near else sides


def _qualifies_other(clause: str, word: _Found, metrics: list[_Mention], names: list[_Mention]) -> bool:
    """ "In fewer steps", "a higher learning rate": the first word after the comparative that is not a
    filler, a number or a run's name is not a metric, so the comparison is about something else."""
    position, text, _ = word
    for token in _WORD.finditer(clause, position + len(text)):
        if any(m.start <= token.start() < m.end for m in metrics):
            return False
        if (
            token.group() in _FILLER
            or token.group().isdigit()
            or any(m.start <= token.start() < m.end for m in names)
        ):
            continue
        return True
    return False


def _assign(clause: str, words: list[_Found], metrics: list[_Mention]) -> dict[_Found, list[_Mention]]:
    """Each metric named goes with the nearest comparative word: "a lower loss and a higher accuracy"; a
    word whose object is "it" takes the metric named last before it."""
    out: dict[_Found, list[_Mention]] = {}
    for mention in metrics:
        centre = (mention.start + mention.end) / 2
        nearest = min(words, key=lambda w: abs(w[0] + len(w[1]) / 2 - centre))
        out.setdefault(nearest, []).append(mention)
    for word in words:
        earlier = [m for m in metrics if m.end <= word[0]]
        if word not in out and earlier and re.match(r"\s+(?:it|them)\b", clause[word[0] + len(word[1]) :]):
            out[word] = earlier[-1:]
    return out


def _expected(meaning: _Word, metric: str, results: Results) -> int:
    """+1 when the claim says the subject's value is higher, -1 lower, 0 when it says nothing of it."""
    if meaning.kind == "time":
        return meaning.sign if metric in results.timing else 0
    if meaning.kind == "good":
        return meaning.sign * results.direction(metric)
    return meaning.sign


def _judge(
    word: str,
    meaning: _Word,
    assigned: list[_Mention],
    sides: _Sides,
    quoted: list[Number],
    vocabulary: _Vocabulary,
) -> str | None:
    """None: nothing checkable; "": the claim holds; otherwise what is wrong."""
    results, series = vocabulary.results, vocabulary.series
    references = sides.references
    if not references:
        if meaning.role == "most":
            references = sorted(vocabulary.indices - set(sides.subjects))
        elif 0 in sides.subjects:
            return None  # "the baseline lowers the loss": against what?
        else:
            references = [0]
    held, wrong = [], []
    for mention in assigned:
        keys = _pinned(mention.what, quoted, series)
        fits, misses = [], []
        for group, metric in keys:
            sign = _expected(meaning, metric, results)
            by_run = series[(group, metric)]
            for subject in sides.subjects:
                for reference in references:
                    a, b = by_run.get(subject), by_run.get(reference)
                    if not sign or a is None or b is None or a == b or subject == reference:
                        continue
                    if (a - b) * sign > 0:
                        fits.append(f"{group}/{metric}")
                    else:
                        misses.append(
                            f"{group}/{metric} ({_name(subject)} {fmt(a)}, {_name(reference)} {fmt(b)})"
                        )
        if mention.loose and fits:
            misses = []
        held += fits
        wrong += misses
    if not held and not wrong:
        return None
    if not wrong:
        return ""
    held = list(dict.fromkeys(held))
    truth = "the opposite holds in the results" if not held else f"it holds only for {', '.join(held)}"
    return f"'{word}' is wrong for {', '.join(dict.fromkeys(wrong))}: {truth}"


def _judge_numbers(
    clause: str,
    word: str,
    meaning: _Word,
    assigned: list[_Mention],
    quoted: list[Number],
    vocabulary: _Vocabulary,
) -> str | None:
    """A comparison of two quoted results with no run named: "the loss drops from 0.4412 to 0.4301"."""
    if meaning.role == "most" or len(quoted) < 2:
        return None
    backwards = bool(re.search(r"\bfrom\s+-?\d", _plain(clause)))  # "from A to B" compares B with A
    for mention in assigned:
        for key in mention.what:
            values = vocabulary.series[key].values()
            shown = [n for n in quoted if any(_shows(n, v) for v in values)]
            sign = _expected(meaning, key[1], vocabulary.results)
            if len(shown) < 2 or not sign:
                continue
            first, second = shown[0], shown[1]
            a, b = (second, first) if backwards else (first, second)
            if a.value == b.value:
                return None
            if (a.value - b.value) * sign > 0:
                return ""
            return f"'{word}' is wrong for {key[0]}/{key[1]}: {a.shown} against {b.shown}"
    return None


def _pinned(keys: tuple, quoted: list[Number], series: dict) -> tuple:
    """The keys whose results the clause quotes, when it quotes any: "the loss falls to 0.4301"."""
    pinned = tuple(k for k in keys if any(_shows(n, v) for n in quoted for v in series[k].values()))
    return pinned or keys


def _shows(number: Number, value: float) -> bool:
    return abs(abs(number.value) - abs(value)) <= number.tolerance + rounding(value)


def _name(index: int) -> str:
    return "Baseline" if index == 0 else f"Run {index}"
