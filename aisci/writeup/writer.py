"""The writeup loop, once: citations, each section, build rounds until the paper is right, the report.

`Writeup`'s methods are the steps; `run_writeup` runs them in order. The flow layer subclasses `Writeup` so
that each step is a Prefect task, and the CLI, the idea flow and the revision after a review all run this
same loop. Between builds aisci fixes what is its own (table columns, figures moved to the appendix) and
hands each section its problems as concrete instructions.
"""

import logging
import re
import time
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel

from aisci.files import write_atomic, write_json
from aisci.llm import Gateway
from aisci.settings import Settings
from aisci.writeup.build import BLOCKING, BuildResult, Problem, build
from aisci.writeup.citations import Bibliography, Search, gather_citations, novelty_papers, s2_search
from aisci.writeup.claims import Claim
from aisci.writeup.main_metrics import pick_main_metrics
from aisci.writeup.paper import (
    MAIN_FIGURES_WHEN_LONG,
    OFFLINE_NOTE,
    PAPER_ORDER,
    SECTIONS,
    Layout,
    PaperContext,
    Section,
    assemble,
    load_context,
    write_sources,
)
from aisci.writeup.sections import claims_in, fix_section, write_section

log = logging.getLogger("aisci.writeup")

FIXABLE = ("latex_error", "chktex", "missing_figure", "duplicate", "overfull")
CHARS_PER_PAGE = 3500  # of running text, article class at 10 pt
CHARS_PER_LINE = 70


class WriteupOptions(BaseModel):
    citation_rounds: int = 3
    fix_rounds: int = 3  # fix rounds after the first build
    build_timeout_s: float = 180.0
    overfull_tolerance_pt: float = 1.0  # any box wider than the text by more than this is a fault
    page_limit: int | None = None  # main-text pages, references and appendix excluded; None: the template's


class BuildRound(BaseModel):
    number: int
    result: BuildResult
    layout: Layout
    unresolved_citations: list[str] = []
    unreferenced_figures: list[str] = []
    fixed_sections: list[str] = []
    next_layout: Layout | None = None  # what aisci changed for the next build, when it changed anything


class WriteupReport(BaseModel):
    """build_report.json: what came out and everything still wrong with it.

    `ok` means a reader would find nothing wrong: it built, every figure is there, nothing runs off the page
    and the main text keeps to the page limit. `warnings` lists what a reader should still know."""

    idea_dir: Path
    pdf: Path | None
    ok: bool
    smoke_results: bool
    runs: list[str]
    skipped_runs: dict[str, str]
    figures: list[str]  # every figure placed in the paper
    main_metrics: list[str] = []  # the main results table's columns: primary, then the writer's picks
    citation_mode: str
    citation_note: str
    citation_queries: list[str]
    citations: list[str]
    unresolved_citations: list[str]
    claims_checked: int
    claims_remaining: list[Claim]
    tables_removed_from_prose: int
    rounds: list[BuildRound]
    problems: list[str]  # what makes `ok` false
    warnings: list[str]
    remaining: list[str]  # problems and warnings together, for a quick look
    pages: int | None
    text_pages: int | None
    page_limit: int | None
    seconds: float


class Writeup:
    """One idea's writeup, step by step. Each method runs in-process; a subclass may run them elsewhere."""

    def __init__(
        self,
        context: PaperContext,
        settings: Settings,
        options: WriteupOptions | None = None,
        offline: bool = False,
        search: Search | None = None,
    ) -> None:
        self.context = context
        self.settings = settings
        self.options = options or WriteupOptions()
        self.offline = offline
        self.search = search

    @cached_property
    def gateway(self) -> Gateway:
        return Gateway(self.settings, run_dir=self.context.idea_dir)

    @property
    def small(self) -> bool:
        """A small writing model writes each section once, briefly, and gets no fix requests after a build:
        it cannot act on them. aisci's own layout fixes still run."""
        return self.settings.weak("writing")

    def progress(self, done: int, total: int, step: str) -> None:
        log.info("%s: %s (%d/%d)", self.context.idea_dir.name, step, done, total)

    def citations(self) -> Bibliography:
        """Offline, no query round is spent: the paper cites the template's and the novelty check's papers."""
        context = self.context
        summary = f"Title: {context.title}\nIdea: {context.idea}\nNotes: {context.notes[:2000]}"
        start = Bibliography(template_bibtex=context.template_bibtex)
        search = None if self.offline else (self.search or s2_search(self.settings))
        return gather_citations(
            self.gateway,
            summary,
            start,
            search,
            novelty_papers(context.idea_dir),
            self.options.citation_rounds,
        )

    def pick_metrics(self) -> list[str]:
        """The metrics the writer adds to the main results table; a small model adds none, it would guess."""
        return [] if self.small else pick_main_metrics(self.gateway, self.context)

    def section(self, name: str, bib: Bibliography, done: dict[str, Section]) -> Section:
        return write_section(self.gateway, self.context, name, bib, done, small=self.small)

    def build_round(
        self, number: int, sections: dict[str, Section], bib: Bibliography, layout: Layout
    ) -> tuple[BuildRound, dict[str, Section]]:
        """Build once and judge the result; unless it is right or rounds are used up, fix what is aisci's
        own in the layout and hand each section its problems. Returns the round and the next sections."""
        assembled = assemble(self.context, sections, bib, layout)
        tex = write_sources(self.context, assembled.source, bib)
        opts = self.options
        result = build(tex, opts.build_timeout_s, opts.overfull_tolerance_pt, self.context.page_limit)
        record = BuildRound(
            number=number,
            result=result,
            layout=layout,
            unresolved_citations=assembled.unresolved_keys,
            unreferenced_figures=_unreferenced(self.context, sections),
        )
        if number > opts.fix_rounds:
            return record, sections
        by_part: dict[str, list[Problem]] = {}
        for problem in result.of(*FIXABLE):
            if part := _part_of(problem, assembled.spans):
                by_part.setdefault(part, []).append(problem)
        next_layout = self._fit_layout(layout, by_part, result)
        if next_layout != layout:
            record.next_layout = next_layout
        if self.small:
            return record, sections
        if number == 1:  # an unresolved key goes back to its section once, then it is dropped
            for name, keys in assembled.unresolved.items():
                by_part.setdefault(name, []).append(_citation_problem(keys, bib))
        if record.unreferenced_figures and "results" in sections:
            by_part.setdefault("results", []).append(
                _figure_problem(self.context, record.unreferenced_figures)
            )
        if result.of("pages") and next_layout == layout:
            for name, problem in _cut_requests(self.context, sections, result).items():
                by_part.setdefault(name, []).append(problem)
        fixed = dict(sections)
        for name, problems in by_part.items():
            if name in sections:
                fixed[name] = fix_section(self.gateway, sections[name], problems, assembled.spans[name][0])
                record.fixed_sections.append(name)
        return record, fixed

    def _fit_layout(self, layout: Layout, by_part: dict[str, list[Problem]], result: BuildResult) -> Layout:
        """aisci's own fixes: narrower tables when one of ours ran off the page; figures beyond the first
        two moved to the appendix when the main text is too long."""
        changed = layout
        ours = [p for part, problems in by_part.items() if part.startswith("table:") for p in problems]
        if widest := max((p.overflow_pt for p in ours if p.kind == "overfull"), default=0.0):
            tables = layout.tables.narrower(self.context.results, widest)
            changed = changed.model_copy(update={"tables": tables})
        figures = len(self.context.figures)
        if result.of("pages") and layout.main_figures is None and figures > MAIN_FIGURES_WHEN_LONG:
            changed = changed.model_copy(update={"main_figures": MAIN_FIGURES_WHEN_LONG})
        return changed

    def finish(
        self, sections: dict[str, Section], bib: Bibliography, rounds: list[BuildRound], started: float
    ) -> WriteupReport:
        """Check the final text's claims again, copy the PDF to the idea folder, write build_report.json."""
        context = self.context
        last = rounds[-1]
        claims: list[Claim] = []
        checked = 0
        for section in sections.values():
            check = claims_in(section.latex, context)
            claims += check.mismatches
            checked += check.checked
        pdf = None
        if last.result.pdf:
            pdf = context.idea_dir / "paper.pdf"
            write_atomic(pdf, last.result.pdf.read_bytes())
        problems = [str(p) for p in last.result.blocking]
        if pdf is None and not problems:
            problems.append("[latex_error] no PDF came out of the build")
        warnings = [str(p) for p in last.result.problems if p.kind not in BLOCKING]
        dropped = sorted({k for r in rounds for k in r.unresolved_citations})
        warnings += [f"[unresolved_citation] \\cite key '{k}' has no entry and was removed" for k in dropped]
        warnings += [f"[figure] {name} is never referenced in the text" for name in last.unreferenced_figures]
        warnings += [
            f"[figure] {f.file} was described from the plotted data; the describing model did not see it"
            for f in context.figures
            if not f.seen
        ]
        warnings += [f'[claim] {c.problem}: "{c.sentence}"' for c in claims]
        if bib.mode == "offline":
            warnings.append(f"[citations] {OFFLINE_NOTE}")
        if context.results.smoke:
            warnings.append("[smoke] the results are smoke tests (short CPU checks), not full experiments")
        report = WriteupReport(
            idea_dir=context.idea_dir,
            pdf=pdf,
            ok=last.result.ok and not problems,
            smoke_results=context.results.smoke,
            runs=[r.name for r in context.results.runs],
            skipped_runs=context.results.skipped,
            figures=[f.file for f in context.figures],
            main_metrics=context.results.main_metrics(),
            citation_mode=bib.mode,
            citation_note=bib.note,
            citation_queries=bib.queries,
            citations=bib.cite_keys,
            unresolved_citations=dropped,
            claims_checked=checked,
            claims_remaining=claims,
            tables_removed_from_prose=sum(s.tables_removed for s in sections.values()),
            rounds=rounds,
            problems=problems,
            warnings=warnings,
            remaining=problems + warnings,
            pages=last.result.pages,
            text_pages=last.result.text_pages,
            page_limit=context.page_limit,
            seconds=round(time.time() - started, 2),
        )
        write_json(context.idea_dir / "build_report.json", report.model_dump(mode="json"))
        return report


def run_writeup(writeup: Writeup) -> WriteupReport:
    """The one writeup loop, whichever way its steps run."""
    started = time.time()
    options = writeup.options
    total = 2 + len(SECTIONS) + options.fix_rounds + 2
    writeup.progress(0, total, "main-table metrics")
    results = writeup.context.results.model_copy(update={"picked": writeup.pick_metrics()})
    writeup.context = writeup.context.model_copy(update={"results": results})
    writeup.progress(1, total, "citations")
    bib = writeup.citations()
    sections: dict[str, Section] = {}
    for number, spec in enumerate(SECTIONS, 2):
        writeup.progress(number, total, f"section {spec.title}")
        sections[spec.name] = writeup.section(spec.name, bib, dict(sections))
    rounds: list[BuildRound] = []
    layout = Layout()
    for number in range(1, options.fix_rounds + 2):
        writeup.progress(1 + len(SECTIONS) + number, total, f"build round {number}")
        record, sections = writeup.build_round(number, sections, bib, layout)
        rounds.append(record)
        log.info(
            "build round %d: %d problem(s), fixed %s",
            number,
            len(record.result.problems),
            record.fixed_sections,
        )
        if not record.fixed_sections and record.next_layout is None:
            break
        layout = record.next_layout or layout
    report = writeup.finish(sections, bib, rounds, started)
    writeup.progress(total, total, "done")
    return report


def write_paper(
    idea_dir: Path,
    settings: Settings,
    options: WriteupOptions | None = None,
    search: Search | None = None,
    template_dir: Path | None = None,
    feedback: str = "",
    offline: bool = False,
) -> WriteupReport:
    """The whole writeup of one finished idea, in-process: paper.pdf and build_report.json in `idea_dir`.

    `feedback` (a review) makes it a revision that answers the review."""
    options = options or WriteupOptions()
    context = load_context(idea_dir, template_dir, options.page_limit).model_copy(
        update={"feedback": feedback}
    )
    return run_writeup(Writeup(context, settings, options, offline=offline, search=search))


def _part_of(problem: Problem, spans: dict[str, tuple[int, int]]) -> str | None:
    if problem.line is None:
        return None
    for name, (first, last) in spans.items():
        if first <= problem.line <= last or (problem.end_line and first <= problem.end_line <= last):
            return name
    return None


def _unreferenced(context: PaperContext, sections: dict[str, Section]) -> list[str]:
    text = "\n".join(s.latex for s in sections.values())
    refs = set(re.findall(r"\\(?:ref|autoref|cref|Cref)\{([^}]+)\}", text))
    return [f.file for f in context.figures if f.label not in refs]


def _citation_problem(keys: list[str], bib: Bibliography) -> Problem:
    listed = ", ".join(bib.cite_keys) or "(none)"
    return Problem(
        kind="unresolved_citation",
        message=f"\\cite keys {', '.join(keys)} have no bibliography entry; cite only these keys: {listed}, "
        "or remove the citation",
    )


def _figure_problem(context: PaperContext, files: list[str]) -> Problem:
    wanted = [f"Figure~\\ref{{{f.label}}} ({f.caption()[:120]})" for f in context.figures if f.file in files]
    return Problem(
        kind="unreferenced_figure",
        message="the text never refers to these figures; discuss each where it supports a result: "
        + "; ".join(wanted),
    )


def _cut_requests(
    context: PaperContext, sections: dict[str, Section], result: BuildResult
) -> dict[str, Problem]:
    """Each long section is asked to shrink by its share of the excess, in lines a writer can act on."""
    limit = context.page_limit or 0
    excess = (result.text_pages or 0) - limit
    if excess <= 0:
        return {}
    to_cut = excess * CHARS_PER_PAGE + CHARS_PER_LINE * 10
    longest = sorted(
        (n for n in PAPER_ORDER if n in sections), key=lambda n: len(sections[n].latex), reverse=True
    )[:3]
    total = sum(len(sections[n].latex) for n in longest) or 1
    requests = {}
    for name in longest:
        chars = len(sections[name].latex)
        cut = min(int(to_cut * chars / total), chars // 2)
        requests[name] = Problem(
            kind="pages",
            message=f"the main text runs to {result.text_pages} pages against the template's limit of "
            f"{limit}: shorten this section by about {max(cut // CHARS_PER_LINE, 1)} lines (about {cut} of "
            f"its {chars} characters), keeping its key results and citations",
        )
    return requests
