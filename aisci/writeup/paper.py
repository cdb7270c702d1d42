"""What a paper is written from (the idea folder, read once) and how its parts become one .tex file."""

import json
import re
import shutil
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from aisci.errors import ConfigError
from aisci.experiment.config import run_config
from aisci.experiment.notes import Notes, read_notes
from aisci.reproduce import reproduction_sentence
from aisci.templates import SPEC_FILE, load_spec
from aisci.writeup.build import END_OF_TEXT_LABEL
from aisci.writeup.citations import Bibliography, cited_keys, drop_unresolved
from aisci.writeup.claims import Claim
from aisci.writeup.results import Results, TableLayout, appendix_tables, load_results, main_tables

FIGURES = "figures"  # where the experiment stage leaves its plots
FIGURE_SUFFIXES = (".png", ".pdf", ".jpg", ".jpeg")
DEFAULT_PREAMBLE = "\\documentclass{article}\n\\usepackage[utf8]{inputenc}\n\\usepackage[T1]{fontenc}\n"
NEEDED_PACKAGES = ("graphicx", "booktabs", "natbib", "amsmath", "longtable", "multirow", "placeins")
# Ligatures (ff, fi, fl) and accented letters keep their Unicode meaning in the PDF's text, so the reviewer
# and any reader copying text see "efficient", not "ecient". (T1-encoded text also needs outline fonts:
# scripts/setup.sh installs cm-super, without which pdflatex embeds bitmaps that carry no text.)
TO_UNICODE = "\\input{glyphtounicode}\n\\pdfgentounicode=1\n"
LOOSE_LINES = "\\setlength{\\emergencystretch}{3em}\n"  # a paragraph without good breaks sets looser lines
CMAP = "\\RequirePackage{cmap}\n"  # before fontenc: bitmap fonts get a text map too
PAPER = "paper.tex"
BIB = "paper.bib"  # the template's references.bib stays untouched, so a second writeup starts from it again
CAPTION_CHARS = 400
OFFLINE_NOTE = (
    "Semantic Scholar could not be reached while this paper was written, so its bibliography was not checked "
    "against the literature: it cites only the template's references and the papers the novelty check saw."
)
MAIN_FIGURES_WHEN_LONG = 2  # figures kept in the main text when the page limit is broken


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


class Figure(BaseModel):
    """A figure the experiment stage kept, as the paper places it: aisci writes its environment."""

    file: str  # relative to the idea folder: figures/kl.png
    description: str
    seen: bool  # the describing model was shown the image

    @property
    def label(self) -> str:
        return "fig:" + re.sub(r"[^A-Za-z0-9]+", "-", Path(self.file).stem).strip("-").lower()

    def caption(self) -> str:
        text = " ".join(self.description.split()) or Path(self.file).stem.replace("_", " ")
        if len(text) > CAPTION_CHARS:
            text = text[:CAPTION_CHARS].rsplit(" ", 1)[0].rstrip(",;:") + "…"
        return text


class Layout(BaseModel):
    """What aisci itself changes between builds to fit the page: table columns, figures in the main text."""

    tables: TableLayout = TableLayout()
    main_figures: int | None = None  # None: every figure in the main text


class PaperContext(BaseModel):
    """Everything the writeup reads from the idea folder; passing it whole keeps task caches honest."""

    idea_dir: Path
    title: str
    idea: dict
    notes: str
    results: Results
    figures: list[Figure]
    setup: dict[int, dict[str, Any]]  # each run's effective configuration, read from the run, not the model
    known_numbers: list[float]
    preamble: str
    template_bibtex: str
    bibliography_style: str
    page_limit: int | None
    feedback: str = ""  # a review to answer, when the paper is being revised
    reproduction: str = ""  # what re-running the experiments found (reproduce.json), for the appendix

    @property
    def latex_dir(self) -> Path:
        return self.idea_dir / "latex"


def _template_tex(idea_dir: Path, template_dir: Path | None) -> Path | None:
    for folder in (idea_dir / "latex", template_dir / "latex" if template_dir else None):
        if folder and (folder / "template.tex").is_file():
            return folder / "template.tex"
    return None


def _figures(idea_dir: Path, notes: Notes) -> list[Figure]:
    """Every figure in figures/, with the description the figure-notes step wrote for it."""
    folder = idea_dir / FIGURES
    files = (
        sorted(p for p in folder.iterdir() if p.suffix.lower() in FIGURE_SUFFIXES) if folder.is_dir() else []
    )
    described = {Path(n.file).name: n for n in notes.figures}
    figures = []
    for path in files:
        note = described.get(path.name)
        figures.append(
            Figure(
                file=f"{FIGURES}/{path.name}",
                description=note.description if note else "",
                seen=note.seen if note else False,
            )
        )
    return figures


def _numbers(values: list[Any]) -> set[float]:
    """The numbers of the runs' configurations (lists come as comma-joined text), which prose may quote."""
    found: set[float] = set()
    for value in values:
        if isinstance(value, int | float) and not isinstance(value, bool):
            found.add(float(value))
        elif isinstance(value, str):
            found |= {float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", value)}
    return found


def _seeds(config: dict[str, Any]) -> int | None:
    """How many seeds a run's means are over, where its configuration says (a list of seeds or a count)."""
    for key in ("seeds", "num_seeds", "n_seeds"):
        value = config.get(key)
        if isinstance(value, str) and value.strip():
            return len(value.split(","))
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def load_context(
    idea_dir: Path, template_dir: Path | None = None, page_limit: int | None = None
) -> PaperContext:
    """Read the idea folder. A missing idea.json or no successful run is an error the user can act on.

    `page_limit` overrides the template's declared limit."""
    idea_dir = idea_dir.resolve()
    if not (idea_dir / "idea.json").is_file():
        raise ConfigError(f"{idea_dir} has no idea.json", hint="pass the folder of one idea inside a sweep")
    idea = json.loads((idea_dir / "idea.json").read_text())
    spec = load_spec(idea_dir if (idea_dir / SPEC_FILE).is_file() or template_dir is None else template_dir)
    notes = read_notes(idea_dir)
    runs = [int(m.group(1)) for p in idea_dir.iterdir() if (m := re.match(r"^run_(\d+)$", p.name))]
    setup = {run: config for run in sorted(runs) if (config := run_config(idea_dir, run))}
    labels = {run: note.label for run, note in notes.runs.items() if note.label}
    results = load_results(idea_dir, labels, spec, {r: n for r, c in setup.items() if (n := _seeds(c))})
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
    if "pdfgentounicode" not in preamble:
        preamble += TO_UNICODE
    if "emergencystretch" not in preamble:  # rather than run one line into the margin
        preamble += LOOSE_LINES
    if not re.search(r"\\(?:RequirePackage|usepackage)(\[[^\]]*\])?\{cmap\}", preamble):
        preamble = CMAP + preamble
    bib = tex.parent / "references.bib" if tex else None
    style = re.search(r"\\bibliographystyle\{([^}]+)\}", source)
    return PaperContext(
        idea_dir=idea_dir,
        title=str(
            idea.get("Title") or idea.get("title") or idea.get("Name") or idea.get("name") or idea_dir.name
        ),
        idea=idea,
        notes=notes.text,
        results=results,
        figures=_figures(idea_dir, notes),
        setup=setup,
        known_numbers=sorted(_numbers([v for config in setup.values() for v in config.values()])),
        preamble=preamble,
        template_bibtex=bib.read_text() if bib and bib.is_file() else "",
        bibliography_style=style.group(1) if style else "plainnat",
        page_limit=page_limit if page_limit is not None else spec.page_limit,
        reproduction=reproduction_sentence(idea_dir),
    )


def setup_facts(context: PaperContext) -> str:
    """Each run's configuration as the writer may cite it: the baseline's in full, other runs' differences."""
    base = context.setup.get(0, {})
    lines = []
    for run in context.results.runs:
        config = context.setup.get(run.index)
        if config is None:
            continue
        if run.index == 0 or not base:
            shown = config
        else:
            shown = {k: v for k, v in config.items() if base.get(k) != v}
        body = "; ".join(f"{k}={v}" for k, v in shown.items()) or "same as the baseline"
        lines.append(f"{run.name}: {body}")
    return "\n".join(lines)


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
            "Datasets and their sizes, metrics (and which direction is better), the estimator and model "
            "settings, and what each run changed: state them from the setup facts, which come from the runs "
            "themselves; do not invent hardware or settings the facts do not give. Define the baseline by "
            "its configuration."
        ),
    ),
    SectionSpec(
        name="results",
        title="Results",
        guidance=(
            "Report what the runs show, referring to the generated tables and to every figure by its label "
            "(Table~\\ref{...}, Figure~\\ref{...}); the tables and figures are placed for you, so write no "
            "table or figure environment. Compare each run with the baseline using only the facts given: "
            "lower or higher exactly as listed. Discuss limitations. If the results are smoke tests, say so."
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


def figure_latex(figure: Figure) -> str:
    """A figure at the text width (never taller than 40% of the page), captioned from its description."""
    from pylatex.utils import escape_latex

    return (
        "\\begin{figure}[t]\n\\centering\n"
        f"\\includegraphics[width=\\linewidth,height=0.4\\textheight,keepaspectratio]{{{figure.file}}}\n"
        f"\\caption{{{escape_latex(figure.caption())}}}\n\\label{{{figure.label}}}\n\\end{{figure}}"
    )


class Assembled(BaseModel):
    """The .tex source, the line span of each part (to map problems back) and each section's dropped cites."""

    source: str
    spans: dict[str, tuple[int, int]]
    unresolved: dict[str, list[str]]  # section -> cite keys with no entry, removed from the source

    @property
    def unresolved_keys(self) -> list[str]:
        return list(dict.fromkeys(k for keys in self.unresolved.values() for k in keys))


def assemble(
    context: PaperContext, sections: dict[str, Section], bib: Bibliography, layout: Layout | None = None
) -> Assembled:
    """The whole paper: the model's sections, aisci's tables and figures, the bibliography, the appendix."""
    layout = layout or Layout()
    keys = set(bib.cite_keys)
    parts: list[tuple[str, str]] = [
        (
            "preamble",
            context.preamble.rstrip() + "\n\\begin{document}\n"
            f"\\title{{{_escape(context.title)}}}\n\\author{{Anonymous}}\n\\date{{}}\n\\maketitle\n",
        )
    ]
    unresolved: dict[str, list[str]] = {}

    def body(name: str) -> str:
        text, gone = drop_unresolved(sections[name].latex, keys)
        if gone:
            unresolved[name] = list(dict.fromkeys(gone))
        return text.strip()

    split = len(context.figures) if layout.main_figures is None else layout.main_figures
    main_figures, later_figures = context.figures[:split], context.figures[split:]
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
            for label, table in main_tables(context.results, layout.tables):
                parts.append((f"table:{label}", table.strip()))
            for figure in main_figures:
                parts.append((f"figure:{figure.label}", figure_latex(figure)))
        parts.append((name, body(name)))
    parts.append(("frame", "\\FloatBarrier"))  # the main text's tables and figures come before the references
    cited = any(cited_keys(text) for name, text in parts if name not in ("frame", "preamble"))
    if cited and bib.mode == "offline":
        parts.append(("frame", f"\\paragraph{{A note on the references.}} {_escape(OFFLINE_NOTE)}"))
    parts.append(("frame", f"\\label{{{END_OF_TEXT_LABEL}}}"))
    if cited:  # a paper that cites nothing gets no empty References heading
        style, file = context.bibliography_style, BIB.removesuffix(".bib")
        parts.append(("frame", f"\\bibliographystyle{{{style}}}\n\\bibliography{{{file}}}"))
    appendix = appendix_tables(context.results, layout.tables)
    if appendix or later_figures or context.reproduction:
        parts.append(
            ("frame", "\\clearpage\n\\appendix\n\\section{Additional Results}\n\\label{sec:appendix}")
        )
        if context.reproduction:
            parts.append(("frame", f"\\paragraph{{Reproduction.}} {_escape(context.reproduction)}"))
        for figure in later_figures:
            parts.append((f"figure:{figure.label}", figure_latex(figure)))
        for label, table in appendix:
            parts.append((f"table:{label}", table.strip()))
    parts.append(("frame", "\\end{document}"))
    lines: list[str] = []
    spans: dict[str, tuple[int, int]] = {}
    for name, text in parts:
        chunk = text.splitlines() or [""]
        if name != "frame":
            spans[name] = (len(lines) + 1, len(lines) + len(chunk))
        lines += chunk
    return Assembled(source="\n".join(lines) + "\n", spans=spans, unresolved=unresolved)


def _escape(text: str) -> str:
    from pylatex.utils import escape_latex

    return escape_latex(text)


def write_sources(context: PaperContext, source: str, bib: Bibliography) -> Path:
    """paper.tex, paper.bib and the figures in the idea's latex/ folder; returns paper.tex."""
    from aisci.files import write_atomic

    latex = context.latex_dir
    (latex / FIGURES).mkdir(parents=True, exist_ok=True)
    for figure in context.figures:
        shutil.copy2(context.idea_dir / figure.file, latex / figure.file)
    write_atomic(latex / BIB, bib.bibtex())
    write_atomic(latex / PAPER, source)
    return latex / PAPER
