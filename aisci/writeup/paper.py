"""What a paper is written from (the idea folder, read once) and how its parts become one .tex file."""

import json
import re
import shutil
from pathlib import Path

from pydantic import BaseModel

from aisci.errors import ConfigError
from aisci.writeup.citations import Bibliography, drop_unresolved
from aisci.writeup.claims import Claim
from aisci.writeup.results import Results, load_results, results_tables

FIGURE_SUFFIXES = (".png", ".pdf", ".jpg", ".jpeg")
DEFAULT_PREAMBLE = "\\documentclass{article}\n\\usepackage[utf8]{inputenc}\n\\usepackage[T1]{fontenc}\n"
NEEDED_PACKAGES = ("graphicx", "booktabs", "natbib", "amsmath")
PAPER = "paper.tex"
BIB = "paper.bib"  # the template's references.bib stays untouched, so a second writeup starts from it again


class SectionSpec(BaseModel):
    name: str
    title: str
    guidance: str


class Section(BaseModel):
    """A finished section: the model's LaTeX and what the claim check left unresolved."""

    name: str
    latex: str
    claims_checked: int = 0
    claims_remaining: list[Claim] = []
    tables_removed: int = 0


class PaperContext(BaseModel):
    """Everything the writeup reads from the idea folder; passing it whole keeps task caches honest."""

    idea_dir: Path
    title: str
    idea: dict
    notes: str
    results: Results
    figures: list[str]
    known_numbers: list[float]
    preamble: str
    template_bibtex: str
    bibliography_style: str
    page_limit: int | None
    feedback: str = ""  # a review to answer, when the paper is being revised

    @property
    def latex_dir(self) -> Path:
        return self.idea_dir / "latex"


def _template_tex(idea_dir: Path, template_dir: Path | None) -> Path | None:
    for folder in (idea_dir / "latex", template_dir / "latex" if template_dir else None):
        if folder and (folder / "template.tex").is_file():
            return folder / "template.tex"
    return None


def load_context(
    idea_dir: Path, template_dir: Path | None = None, page_limit: int | None = 8
) -> PaperContext:
    """Read the idea folder. A missing idea.json or no successful run is an error the user can act on."""
    idea_dir = idea_dir.resolve()
    if not (idea_dir / "idea.json").is_file():
        raise ConfigError(f"{idea_dir} has no idea.json", hint="pass the folder of one idea inside a sweep")
    idea = json.loads((idea_dir / "idea.json").read_text())
    notes_path = idea_dir / "notes.txt"
    notes = notes_path.read_text(errors="replace") if notes_path.is_file() else ""
    results = load_results(idea_dir, notes)
    if not results.runs:
        raise ConfigError(
            f"{idea_dir} has no run with a usable final_info.json",
            hint="run the experiments first; a paper needs at least the baseline",
        )
    tex = _template_tex(idea_dir, template_dir)
    source = tex.read_text() if tex else DEFAULT_PREAMBLE + "\\begin{document}\n\\end{document}\n"
    preamble = source.split("\\begin{document}", 1)[0]
    for package in NEEDED_PACKAGES:
        if not re.search(rf"\\usepackage(\[[^\]]*\])?\{{[^}}]*\b{package}\b", preamble):
            preamble += f"\\usepackage{{{package}}}\n"
    bib = tex.parent / "references.bib" if tex else None
    style = re.search(r"\\bibliographystyle\{([^}]+)\}", source)
    idea_text = json.dumps(idea)
    return PaperContext(
        idea_dir=idea_dir,
        title=str(
            idea.get("Title") or idea.get("title") or idea.get("Name") or idea.get("name") or idea_dir.name
        ),
        idea=idea,
        notes=notes,
        results=results,
        figures=sorted(p.name for p in idea_dir.iterdir() if p.suffix.lower() in FIGURE_SUFFIXES),
        known_numbers=sorted(
            {float(n) for n in re.findall(r"(?<![\w.])\d+\.\d+|\d+e-?\d+", idea_text + notes)}
        ),
        preamble=preamble,
        template_bibtex=bib.read_text() if bib and bib.is_file() else "",
        bibliography_style=style.group(1) if style else "plainnat",
        page_limit=page_limit,
    )


SECTIONS = (
    SectionSpec(
        name="abstract",
        title="Abstract",
        guidance=(
            "One paragraph, no citations or math environments: what problem, why it is hard, what we do, how "
            "we test it and the main measured result. Quote at most two numbers, exactly as in the facts."
        ),
    ),
    SectionSpec(
        name="introduction",
        title="Introduction",
        guidance=(
            "Motivate the problem and say why it matters and why it is hard; state the contribution as a "
            "short itemize list; say briefly how it is tested. Cite related work where it grounds a claim."
        ),
    ),
    SectionSpec(
        name="background",
        title="Background",
        guidance=(
            "The concepts and prior methods a reader needs for the method, and a Problem Setting paragraph "
            "with the notation. Cite the sources of what you present."
        ),
    ),
    SectionSpec(
        name="method",
        title="Method",
        guidance=(
            "What we do and why, in the notation of the background; equations where they make it precise. "
            "Describe the change against the baseline exactly, no results here."
        ),
    ),
    SectionSpec(
        name="experimental_setup",
        title="Experimental Setup",
        guidance=(
            "Datasets, metrics (and which direction is better), implementation details and hyperparameters "
            "taken from the notes; do not invent hardware or settings the notes do not give."
        ),
    ),
    SectionSpec(
        name="results",
        title="Results",
        guidance=(
            "Report what the runs show, referring to the generated results table(s) by label and to the "
            "figures. Compare each run with the baseline using only the facts given: lower or higher exactly "
            "as listed. Include each relevant figure once, in a figure environment with \\includegraphics "
            "and a caption, using only the listed file names. Discuss limitations. If the results are smoke "
            "tests, say so."
        ),
    ),
    SectionSpec(
        name="conclusion",
        title="Conclusion",
        guidance=(
            "Summarise the paper and its findings in one or two paragraphs and name concrete future work."
        ),
    ),
    SectionSpec(
        name="related_work",
        title="Related Work",
        guidance=(
            "Compare and contrast with the closest prior work: how their assumptions or methods differ and "
            "whether they apply to our problem. Cite every paper you discuss, only with the listed keys."
        ),
    ),
)
SPECS = {spec.name: spec for spec in SECTIONS}
PAPER_ORDER = (
    "introduction",
    "related_work",
    "background",
    "method",
    "experimental_setup",
    "results",
    "conclusion",
)


def assemble(
    context: PaperContext, sections: dict[str, Section], bib: Bibliography, scale_tables: bool = False
) -> tuple[str, dict[str, tuple[int, int]], list[str]]:
    """The .tex source, the line span of each part (to map errors back) and the unresolved cite keys."""
    keys = set(bib.cite_keys)
    parts: list[tuple[str, str]] = [
        (
            "preamble",
            context.preamble.rstrip() + "\n\\begin{document}\n"
            f"\\title{{{_escape(context.title)}}}\n\\author{{Anonymous}}\n\\date{{}}\n\\maketitle\n",
        )
    ]
    dropped: list[str] = []

    def body(name: str) -> str:
        text, gone = drop_unresolved(sections[name].latex, keys)
        dropped.extend(gone)
        return text.strip()

    if "abstract" in sections:
        parts += [
            ("frame", "\\begin{abstract}"),
            ("abstract", body("abstract")),
            ("frame", "\\end{abstract}"),
        ]
    for name in PAPER_ORDER:
        if name not in sections:
            continue
        parts.append(("frame", f"\\section{{{SPECS[name].title}}}\n\\label{{sec:{name}}}"))
        if name == "results":
            parts.append(("results_tables", results_tables(context.results, scale_tables).strip()))
        parts.append((name, body(name)))
    parts.append(
        (
            "frame",
            f"\\label{{aisci:end-of-text}}\n\\bibliographystyle{{{context.bibliography_style}}}\n"
            f"\\bibliography{{{BIB.removesuffix('.bib')}}}\n\\end{{document}}",
        )
    )
    lines: list[str] = []
    spans: dict[str, tuple[int, int]] = {}
    for name, text in parts:
        chunk = text.splitlines() or [""]
        if name != "frame":
            spans[name] = (len(lines) + 1, len(lines) + len(chunk))
        lines += chunk
    return "\n".join(lines) + "\n", spans, list(dict.fromkeys(dropped))


def _escape(text: str) -> str:
    from pylatex.utils import escape_latex

    return escape_latex(text)


def write_sources(context: PaperContext, source: str, bib: Bibliography) -> Path:
    """paper.tex, paper.bib and the figures in the idea's latex/ folder; returns paper.tex."""
    from aisci.files import write_atomic

    latex = context.latex_dir
    latex.mkdir(parents=True, exist_ok=True)
    for name in context.figures:
        shutil.copy2(context.idea_dir / name, latex / name)
    write_atomic(latex / BIB, bib.bibtex())
    write_atomic(latex / PAPER, source)
    return latex / PAPER
