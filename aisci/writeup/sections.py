"""Writing one section: a draft from its own guidance, one self-critique round, the claim check with one fix
round; and the compile-fix round that hands a section its LaTeX errors with the offending lines."""

import re

from aisci.llm import Gateway
from aisci.writeup.build import Problem
from aisci.writeup.citations import Bibliography
from aisci.writeup.claims import check_claims
from aisci.writeup.paper import SPECS, PaperContext, Section
from aisci.writeup.results import facts, table_label

SYSTEM = (
    "You write one section of a machine learning paper in LaTeX. Reply with the body of the section only: "
    "no \\section command, no preamble, no \\begin{document}, no code fences. Cite only with \\citep{key} "
    "or \\citet{key} using keys from the list given; never invent a key. Never write a table: the results "
    "tables are generated from the data and inserted for you. Every number you quote must appear in the "
    "facts exactly as written there (or be a difference or relative change between two of them), and every "
    "comparison (lower, higher, improves) must agree with them."
)
_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n(.*?)\n?```\s*$", re.DOTALL)
_TABLE = re.compile(r"\\begin\{(table\*?|tabular\*?)\}.*?\\end\{\1\}", re.DOTALL)
_WRAPPER = re.compile(
    r"\\(?:section|begin\{abstract\}|end\{abstract\}|begin\{document\}|end\{document\})\*?"
    r"(?:\{[^}]*\})?"
)


def clean(reply: str) -> tuple[str, int]:
    """The section body of a reply: fences, headings and document wrappers gone, tables removed."""
    text = reply.strip()
    if fenced := _FENCE.match(text):
        text = fenced.group(1)
    text = _WRAPPER.sub("", text)
    text, tables = _TABLE.subn("", text)
    return text.strip(), tables


def brief(context: PaperContext, bib: Bibliography, done: dict[str, Section]) -> str:
    """What every section is written from."""
    tables = ", ".join(f"Table~\\ref{{{table_label(i)}}} ({g})" for i, g in enumerate(context.results.groups))
    written = "\n\n".join(f"--- {SPECS[name].title} ---\n{s.latex}" for name, s in done.items())
    smoke = (
        "\nThese results come from smoke tests (short CPU checks), not full experiments: say so plainly.\n"
        if context.results.smoke
        else ""
    )
    return (
        f"Paper title: {context.title}\n\nIdea:\n{context.idea}\n\n"
        f"Experiment notes:\n{context.notes or '(none)'}\n\n"
        f"Results (facts; the only numbers you may quote):\n{facts(context.results)}\n{smoke}\n"
        f"Generated tables you can refer to: {tables}\n"
        f"Figure files: {', '.join(context.figures) or '(none)'}\n\n"
        f"Citation keys:\n{bib.listing()}\n\n"
        f"Sections written so far:\n{written or '(none)'}"
        + (
            f"\n\nA reviewer's report on the previous version; answer it:\n{context.feedback}"
            if context.feedback
            else ""
        )
    )


def write_section(
    gateway: Gateway, context: PaperContext, name: str, bib: Bibliography, done: dict[str, Section]
) -> Section:
    spec = SPECS[name]
    messages = [
        {"role": "system", "content": SYSTEM},
        {
            "role": "user",
            "content": f"{brief(context, bib, done)}\n\nWrite the {spec.title} section.\n"
            f"Guidance for {spec.title}: {spec.guidance}",
        },
    ]
    draft = gateway.complete("writing", messages).text
    messages += [
        {"role": "assistant", "content": draft},
        {
            "role": "user",
            "content": f"Critique your {spec.title} draft: does it follow the guidance ({spec.guidance}) "
            "Is every number in the facts and every comparison the right way round? Is anything repeated "
            "from earlier sections, vague, or unsupported? Then reply with the improved section only.",
        },
    ]
    reply = gateway.complete("writing", messages).text
    latex, tables = clean(reply)
    known = set(context.known_numbers)
    check = check_claims(latex, context.results, known)
    checked = check.checked
    if check.mismatches:
        problems = "\n".join(f'- "{c.sentence}": {c.problem}' for c in check.mismatches)
        messages += [
            {"role": "assistant", "content": reply},
            {
                "role": "user",
                "content": "These statements disagree with the results facts:\n"
                f"{problems}\nCorrect them using only the facts, and reply with the whole section.",
            },
        ]
        latex, more = clean(gateway.complete("writing", messages).text)
        tables += more
        check = check_claims(latex, context.results, known)
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
            "content": f"The {SPECS[section.name].title} section below fails to build cleanly.\n"
            "Problems found by pdflatex and chktex (line numbers are the section's):\n"
            + "\n".join(listed)
            + f"\n\nThe section:\n{shown}\n\nFix every problem, changing nothing else; reply with "
            "the whole corrected section without line numbers.",
        },
    ]
    latex, tables = clean(gateway.complete("writing", messages).text)
    return section.model_copy(update={"latex": latex, "tables_removed": section.tables_removed + tables})
