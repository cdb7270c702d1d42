"""Writing one section: a draft from its own guidance, one self-critique round, the claim check with one fix
round; and the compile-fix round that hands a section its LaTeX errors with the offending lines.

A small model writes each section once, briefly, and its reply is set as prose: it cannot act on a critique
or a fix request, and each token costs it seconds on a CPU, so those rounds would only make the paper longer
and later, and one stray `#` of its text would otherwise stop the build for good."""

import json
import re
import unicodedata

from aisci.errors import LLMContextError
from aisci.llm import Gateway
from aisci.writeup.build import Problem
from aisci.writeup.citations import Bibliography
from aisci.writeup.claims import ClaimCheck, check_claims
from aisci.writeup.paper import SPECS, PaperContext, Section, setup_facts
from aisci.writeup.results import TableLayout, facts, main_tables

SYSTEM = (
    "You write one section of a machine learning paper in LaTeX. Reply with the body of the section only: "
    "no \\section command, no preamble, no \\begin{document}, no code fences. Cite only with \\citep{key} "
    "or \\citet{key} using keys from the list given; never invent a key. Never write a table or a figure "
    "environment: the results tables and the figures are generated and placed for you; refer to them with "
    "Table~\\ref{label} and Figure~\\ref{label}. Every number you quote must appear in the facts exactly "
    "as written there (or be a difference or relative change between two of them), and every comparison "
    "(lower, higher, improves) must agree with them."
)
SECTION_MAX_TOKENS = 4096
SMALL_SECTION_TOKENS = 200  # a short paragraph: eight of them, the figures and the tables fill about 4 pages
PROMPT_MARGIN_TOKENS = 700  # the system prompt, the task line and the critique request
_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n(.*?)\n?```\s*$", re.DOTALL)
_FLOAT = re.compile(r"\\begin\{(table\*?|tabular\*?|figure\*?)\}.*?\\end\{\1\}", re.DOTALL)
_GRAPHICS = re.compile(r"\\includegraphics(?:\[[^\]]*\])?\{[^}]*\}")
_KEPT = re.compile(r"(~?\\(?:citep|citet|cite|ref|autoref|cref|Cref|eqref)\{[^{}\\]*\})")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LONG_RUN = re.compile(r"\S{24,}")  # longer than a line can take unbroken in a narrow column
_BREAK = "\x00"  # marks a break point in a long run; stripped from the reply before, escaped after
_BREAK_POINT = r"\hspace{0pt plus 2em}"  # a break point the line around it can stretch to
_ALLOW_BREAK = r"\allowbreak{}"
_OUR_BREAKS = re.compile(f"{re.escape(_BREAK_POINT)}|{re.escape(_ALLOW_BREAK)}")
_PROSE_ESCAPES = str.maketrans(
    {
        "&": r"\&",
        "%": r"\%",
        "$": r"\$",
        "#": r"\#",
        "_": r"\_" + _ALLOW_BREAK,
        "/": "/" + _ALLOW_BREAK,
        "{": r"\{",
        "}": r"\}",
        "~": r"\textasciitilde{}",
        "^": r"\^{}",
        "\\": r"\textbackslash{}",
        _BREAK: _BREAK_POINT,
    }
)
_WRAPPER = re.compile(
    r"\\(?:section|begin\{abstract\}|end\{abstract\}|begin\{document\}|end\{document\})\*?"
    r"(?:\{[^}]*\})?"
)


def clean(reply: str) -> tuple[str, int]:
    """The section body of a reply: fences, headings and document wrappers gone, tables and figures removed
    (aisci places its own)."""
    text = reply.strip()
    if fenced := _FENCE.match(text):
        text = fenced.group(1)
    text = _WRAPPER.sub("", text)
    text, floats = _FLOAT.subn("", text)
    text = _GRAPHICS.sub("", text)
    return text.strip(), floats


def as_prose(text: str) -> str:
    """A small model's section as plain prose that always compiles: LaTeX's special characters escaped except
    in its \\cite and \\ref commands, ASCII only, long names breakable, cut after its last whole sentence
    (its reply stops at the token cap, often mid-sentence)."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = _CONTROL.sub("", text).rstrip()
    if not text.endswith((".", "!", "?")) and (end := max(text.rfind(". "), text.rfind(".\n"))) > 0:
        text = text[: end + 1]
    parts = _KEPT.split(text)  # prose, command, prose, ...
    return "".join(
        part if i % 2 else _breakable(part).translate(_PROSE_ESCAPES) for i, part in enumerate(parts)
    )


def _breakable(prose: str) -> str:
    """Long runs without a space (a small model's strings of digits) get a break point every 12 characters."""
    return _LONG_RUN.sub(lambda m: _BREAK.join(re.findall(".{1,12}", m[0])), prose)


def as_written(latex: str) -> str:
    """A section without the break points set into its prose: shown to a small model again, they would be
    copied as text, and each section would carry more of them than the one before."""
    return _OUR_BREAKS.sub("", latex)


def claims_in(latex: str, context: PaperContext) -> ClaimCheck:
    """A section's claims checked against the results, read as written: a break point set inside a number
    would split it in two."""
    return check_claims(as_written(latex), context.results, set(context.known_numbers))


def _figure_lines(context: PaperContext) -> str:
    lines = []
    for figure in context.figures:
        how = "" if figure.seen else " (described from the plotted data; the image itself was not seen)"
        lines.append(f"Figure~\\ref{{{figure.label}}} ({figure.file}){how}: {figure.caption()}")
    return "\n".join(lines) or "(none)"


def _table_lines(context: PaperContext) -> str:
    results = context.results
    main = ", ".join(results.label(m) for m in results.main_metrics())
    lines = [
        f"Table~\\ref{{{label}}}: main results ({main})" for label, _ in main_tables(results, TableLayout())
    ]
    if len(results.metrics()) > len(results.main_metrics()):
        lines.append("Appendix~\\ref{sec:appendix}: tables of every other metric")
    return "\n".join(lines)


class Budget:
    """Keeps a prompt within the model's context window: parts shrink, least needed first."""

    def __init__(self, gateway: Gateway, role: str = "writing", max_tokens: int = SECTION_MAX_TOKENS) -> None:
        self.gateway, self.role = gateway, role
        window = gateway.context_window(role)
        self.max_tokens = min(max_tokens, window // 8)
        self.tokens = window - 2 * self.max_tokens - PROMPT_MARGIN_TOKENS

    def shrink(self, prompt_tokens: int | None, window: int | None) -> None:
        """The provider found the prompt too long: scale the budget down by how far it was over."""
        ratio = (window or self.tokens) / (prompt_tokens or 2 * self.tokens)
        self.tokens = int(self.tokens * min(ratio, 1.0) * 0.8)

    def fits(self, text: str) -> bool:
        return self.gateway.count_tokens(self.role, text) <= self.tokens

    def cut(self, text: str) -> str:
        """The start of `text` that fits, for a prompt that is still too long after every part shrank."""
        while not self.fits(text) and len(text) > 200:
            text = text[: int(len(text) * 0.8)]
        return text


def brief(
    context: PaperContext, bib: Bibliography, done: dict[str, Section], budget: Budget | None = None
) -> str:
    """What every section is written from, shrunk to the budget: the full facts give way to the main metrics,
    earlier sections to their first paragraphs, long notes and reference lists to their start."""
    results = context.results
    smoke = (
        "\nThese results come from smoke tests (short CPU checks), not full experiments: say so plainly.\n"
        if results.smoke
        else ""
    )
    others = [m for m in results.metrics() if m not in results.main_metrics()]
    variants = {
        "facts": [
            facts(results),
            facts(results, results.main_metrics())
            + (f"\nOther metrics (in the appendix tables): {', '.join(others)}" if others else ""),
        ],
        "notes": [context.notes or "(none)", context.notes[:3000], context.notes[:800]],
        "refs": [bib.listing(), "\n".join(bib.listing().splitlines()[:15])],
        "written": [
            "\n\n".join(f"--- {SPECS[n].title} ---\n{as_written(s.latex)}" for n, s in done.items()),
            "\n\n".join(
                f"--- {SPECS[n].title} (start) ---\n{as_written(s.latex).split(chr(10) * 2)[0]}"
                for n, s in done.items()
            ),
            ", ".join(SPECS[n].title for n in done),
        ],
    }
    chosen = {part: 0 for part in variants}

    def render() -> str:
        pick = {part: options[chosen[part]] for part, options in variants.items()}
        return (
            f"Paper title: {context.title}\n\nIdea:\n{json.dumps(context.idea)[:4000]}\n\n"
            f"Setup facts (each run's configuration, read from the run; you may quote these numbers):\n"
            f"{setup_facts(context) or '(not recorded)'}\n\n"
            f"Experiment notes:\n{pick['notes']}\n\n"
            f"Results (facts; the only measured numbers you may quote):\n{pick['facts']}\n{smoke}\n"
            f"Generated tables you can refer to:\n{_table_lines(context)}\n"
            f"Figures you can refer to (each is placed for you):\n{_figure_lines(context)}\n\n"
            f"Citation keys:\n{pick['refs']}\n\n"
            f"Sections written so far:\n{pick['written'] or '(none)'}"
            + (
                f"\n\nA reviewer's report on the previous version; answer it:\n{context.feedback[:6000]}"
                if context.feedback
                else ""
            )
        )

    text = render()
    if budget is None:
        return text
    for part in ("written", "facts", "notes", "refs", "written", "notes"):
        if budget.fits(text):
            return text
        chosen[part] = min(chosen[part] + 1, len(variants[part]) - 1)
        text = render()
    return budget.cut(text)


def _ask(
    context: PaperContext, bib: Bibliography, done: dict[str, Section], name: str, budget: Budget
) -> list:
    spec = SPECS[name]
    return [
        {"role": "system", "content": SYSTEM},
        {
            "role": "user",
            "content": f"{brief(context, bib, done, budget)}\n\nWrite the {spec.title} section.\n"
            f"Guidance for {spec.title}: {spec.guidance}",
        },
    ]


def write_section(
    gateway: Gateway,
    context: PaperContext,
    name: str,
    bib: Bibliography,
    done: dict[str, Section],
    small: bool = False,
) -> Section:
    """The section's LaTeX body; `small` (a small model): the first draft, short, with no further round."""
    spec = SPECS[name]
    budget = Budget(gateway, max_tokens=SMALL_SECTION_TOKENS if small else SECTION_MAX_TOKENS)
    ask = _ask(context, bib, done, name, budget)
    try:
        draft = gateway.complete("writing", ask, max_tokens=budget.max_tokens).text
    except LLMContextError as exc:  # the provider counts differently: shrink by its own count, once
        budget.shrink(exc.prompt_tokens, exc.window)
        ask = _ask(context, bib, done, name, budget)
        draft = gateway.complete("writing", ask, max_tokens=budget.max_tokens).text
    reply = draft
    if not small:
        critique = [
            *ask,
            {"role": "assistant", "content": draft},
            {
                "role": "user",
                "content": f"Critique your {spec.title} draft: does it follow the guidance ({spec.guidance}) "
                "Is every number in the facts and every comparison the right way round? Is anything "
                "repeated from earlier sections, vague, or unsupported? Then reply with the improved section "
                "only.",
            },
        ]
        reply = gateway.complete("writing", critique, max_tokens=budget.max_tokens).text
    latex, tables = clean(reply)
    if small:
        latex = as_prose(latex)
    check = claims_in(latex, context)
    checked = check.checked
    if check.mismatches and not small:
        problems = "\n".join(f'- "{c.sentence}": {c.problem}' for c in check.mismatches)
        fix = [
            *ask,
            {"role": "assistant", "content": reply},
            {
                "role": "user",
                "content": "These statements disagree with the results facts:\n"
                f"{problems}\nCorrect them using only the facts, and reply with the whole section.",
            },
        ]
        latex, more = clean(gateway.complete("writing", fix, max_tokens=budget.max_tokens).text)
        tables += more
        check = claims_in(latex, context)
    return Section(
        name=name,
        latex=latex,
        claims_checked=checked,
        claims_remaining=check.mismatches,
        tables_removed=tables,
    )


def fix_section(gateway: Gateway, section: Section, problems: list[Problem], first_line: int) -> Section:
    """Hand a section its compile errors and warnings with its numbered lines; the reply replaces it."""
    lines = section.latex.splitlines()
    shown = "\n".join(f"{i:4d}| {text}" for i, text in enumerate(lines, 1))
    listed = []
    for p in problems:
        if p.line is None:
            listed.append(f"- {p.kind}: {p.message}")
            continue
        local = p.line - first_line + 1
        offending = lines[local - 1] if 0 < local <= len(lines) else ""
        listed.append(f"- line {local}: {p.kind}: {p.message}\n    offending line: {offending}")
    messages = [
        {"role": "system", "content": SYSTEM},
        {
            "role": "user",
            "content": f"The {SPECS[section.name].title} section below has problems to fix.\n"
            "Problems found in the built paper (line numbers are the section's):\n"
            + "\n".join(listed)
            + f"\n\nThe section:\n{shown}\n\nFix every problem, changing nothing else; reply with "
            "the whole corrected section without line numbers.",
        },
    ]
    latex, tables = clean(gateway.complete("writing", messages).text)
    return section.model_copy(update={"latex": latex, "tables_removed": section.tables_removed + tables})
