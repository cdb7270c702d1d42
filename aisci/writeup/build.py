"""Compiling the paper and judging the result: latexmk under a time limit, the log's errors and overfull
boxes, chktex's warnings and the checks a reader would make (missing figures, duplicates, page count)."""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

from pydantic import BaseModel

END_OF_TEXT_LABEL = "aisci:end-of-text"  # placed before the bibliography: its page is the main text's length
# chktex warnings that are style, not faults: command terminated with space, intersentence spacing, dash
# lengths, spaces before punctuation/footnotes, quote styles, ellipsis, an \\input chktex cannot follow,
# math-mode nits
CHKTEX_IGNORED = (1, 2, 3, 8, 11, 12, 13, 18, 24, 26, 27, 36, 37, 44)
_ERROR = re.compile(r"^(?:\./)?([^:\n]+?):(\d+): (.+)$", re.MULTILINE)
_OVERFULL = re.compile(
    r"^Overfull \\([hv])box \((\d+(?:\.\d+)?)pt too \w+\) (?:in .*?at lines? (\d+)(?:--(\d+))?|.*)$",
    re.MULTILINE,
)
_BOX_FONT = re.compile(r"\\[A-Za-z0-9]+/[^ ]*/\d+(?:\.\d+)? ?")  # \T1/cmr/m/n/10 in a box's content
BLOCKING = ("latex_error", "timeout", "missing_figure", "overfull", "pages")  # a reader would see these
_CITE_UNDEF = re.compile(r"Citation `([^']+)' on page \d+ undefined")
_PAGE_LABEL = re.compile(r"\\newlabel\{" + re.escape(END_OF_TEXT_LABEL) + r"\}\{\{[^}]*\}\{(\d+)\}")


class Problem(BaseModel):
    """One thing wrong with the build; `line` is a line of the .tex file where the log or chktex names one."""

    kind: str  # latex_error, chktex, overfull, missing_figure, duplicate, pages, undefined_citation, timeout
    message: str
    text: str = ""  # the offending text, where the log shows it
    overflow_pt: float = 0.0  # how far an overfull box runs past the text
    line: int | None = None
    end_line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"[{self.kind}] {where}{self.message}"


class BuildResult(BaseModel):
    ok: bool  # a PDF came out of an error-free compile; `blocking` says whether a reader would see faults
    pdf: Path | None = None
    pages: int | None = None
    text_pages: int | None = None
    seconds: float
    problems: list[Problem] = []

    def of(self, *kinds: str) -> list[Problem]:
        return [p for p in self.problems if p.kind in kinds]

    @property
    def blocking(self) -> list[Problem]:
        return self.of(*BLOCKING)


def compile_latex(tex: Path, timeout_s: float = 120.0) -> tuple[bool, str, float]:
    """latexmk (pdflatex + bibtex) in the file's folder; killed with its children after `timeout_s`."""
    command = [
        "latexmk",
        "-pdf",
        "-bibtex",
        "-interaction=nonstopmode",
        "-file-line-error",
        "-halt-on-error",
        "-silent",
        tex.name,
    ]
    started = time.monotonic()
    proc = subprocess.Popen(
        command,
        cwd=tex.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "max_print_line": "10000"},  # one log line per message, so errors parse whole
        text=True,
        errors="replace",
    )
    try:
        output, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return False, f"latexmk ran past {timeout_s:.0f} s and was stopped", time.monotonic() - started
    log = tex.with_suffix(".log")
    text = log.read_text(errors="replace") if log.is_file() else output
    return proc.returncode == 0, text, time.monotonic() - started


def log_problems(log: str, tex_name: str, overfull_tolerance_pt: float) -> list[Problem]:
    problems = []
    for m in _ERROR.finditer(log):
        ours = m.group(1) == tex_name
        message = m.group(3).strip() if ours else f"{m.group(3).strip()} (in {m.group(1)}, line {m.group(2)})"
        problems.append(Problem(kind="latex_error", message=message, line=int(m.group(2)) if ours else None))
    if not problems and "\n! " in log:  # an error pdflatex could not place on a line
        problems.append(Problem(kind="latex_error", message=log.split("\n! ", 1)[1].splitlines()[0]))
    for m in _OVERFULL.finditer(log):
        if float(m.group(2)) > overfull_tolerance_pt:
            start = int(m.group(3)) if m.group(3) else None
            text = overfull_text(log[m.end() :])
            where = f': the line ending "{text}" runs into the margin' if text else ""
            problems.append(
                Problem(
                    kind="overfull",
                    message=f"overfull \\{m.group(1)}box, {m.group(2)}pt too wide{where}",
                    line=start,
                    end_line=int(m.group(4)) if m.group(4) else start,
                    text=text,
                    overflow_pt=float(m.group(2)),
                )
            )
    for key in dict.fromkeys(_CITE_UNDEF.findall(log)):
        problems.append(Problem(kind="undefined_citation", message=f"citation '{key}' is undefined"))
    return problems


def overfull_text(after: str, chars: int = 60) -> str:
    """The end of the box TeX could not fit, from the log lines after its Overfull message: the words at the
    right margin are the culprit, not the whole paragraph. Empty for boxes without text (tables, images)."""
    content = after.lstrip("\n").split("\n\n", 1)[0].split("\n", 1)[0]
    text = _BOX_FONT.sub("", content).replace("[]", " ").replace("|", "")
    text = " ".join(text.split())
    if not re.search(r"[A-Za-z]{2}", text):
        return ""
    return text if len(text) <= chars else "…" + text[-chars:].split(" ", 1)[-1]


def chktex(tex: Path) -> list[Problem]:
    ignored = [f"-n{n}" for n in CHKTEX_IGNORED]
    result = subprocess.run(
        ["chktex", "-q", "-v0", "-f", "%l:%n:%m\n", *ignored, tex.name],
        cwd=tex.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    problems = []
    for line in result.stdout.splitlines():
        number, _, rest = line.partition(":")
        code, _, message = rest.partition(":")
        if number.isdigit():
            problems.append(Problem(kind="chktex", message=f"chktex {code}: {message}", line=int(number)))
    return problems


def static_checks(tex: Path) -> list[Problem]:
    """What a compile does not catch: missing figure files, a figure or section included twice."""
    source = tex.read_text()
    lines = source.splitlines()
    problems = []
    seen: dict[str, int] = {}
    for number, text in enumerate(lines, 1):
        code = text.split("%", 1)[0] if not text.lstrip().startswith("\\%") else text
        for m in re.finditer(r"\\includegraphics(?:\[[^\]]*\])?\{([^}]+)\}", code):
            name = m.group(1).strip()
            if not any(
                (tex.parent / (name + ext)).is_file() for ext in ("", ".png", ".pdf", ".jpg", ".jpeg")
            ):
                problems.append(
                    Problem(
                        kind="missing_figure", message=f"figure file '{name}' does not exist", line=number
                    )
                )
            if name in seen:
                problems.append(
                    Problem(
                        kind="duplicate",
                        line=number,
                        message=f"figure '{name}' is included twice (first on line {seen[name]})",
                    )
                )
            seen.setdefault(name, number)
        for m in re.finditer(r"\\(section|subsection)\*?\{([^}]+)\}", code):
            heading = f"{m.group(1)}:{m.group(2).strip().lower()}"
            if heading in seen:
                problems.append(
                    Problem(
                        kind="duplicate",
                        line=number,
                        message=f"{m.group(1)} '{m.group(2)}' appears twice (first on line {seen[heading]})",
                    )
                )
            seen.setdefault(heading, number)
    return problems


def build(tex: Path, timeout_s: float, overfull_tolerance_pt: float, page_limit: int | None) -> BuildResult:
    """One compile and every check on its outcome."""
    problems = static_checks(tex) + chktex(tex)
    ok, log, seconds = compile_latex(tex, timeout_s)
    if "ran past" in log and not ok:
        problems.append(Problem(kind="timeout", message=log))
        return BuildResult(ok=False, seconds=seconds, problems=problems)
    problems += log_problems(log, tex.name, overfull_tolerance_pt)
    pdf = tex.with_suffix(".pdf")
    pages = text_pages = None
    if pdf.is_file():
        from pypdf import PdfReader

        pages = len(PdfReader(pdf).pages)
        aux = tex.with_suffix(".aux")
        found = _PAGE_LABEL.search(aux.read_text(errors="replace")) if aux.is_file() else None
        text_pages = int(found.group(1)) if found else pages
        if page_limit and text_pages > page_limit:
            problems.append(
                Problem(
                    kind="pages",
                    message=f"the main text runs to {text_pages} pages; the template allows {page_limit}",
                )
            )
    ok = ok and pdf.is_file() and not any(p.kind == "latex_error" for p in problems)
    return BuildResult(
        ok=ok,
        pdf=pdf if pdf.is_file() else None,
        pages=pages,
        text_pages=text_pages,
        seconds=seconds,
        problems=problems,
    )
