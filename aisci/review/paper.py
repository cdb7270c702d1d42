"""Paper text for the reviewer: pages from a PDF (pypdf) or a text file, cut to what the model can read."""

import re
import unicodedata
from pathlib import Path

from pydantic import BaseModel, field_validator

from aisci.errors import ConfigError
from aisci.review.form import PaperInfo

# A font without a ToUnicode map yields its raw character codes. pdfLaTeX's T1 (Cork) fonts fall back to
# bitmaps without one when cm-super or lmodern is missing, and keep ligatures, quotes and dashes below 0x20.
T1_CODES = {
    0x10: "\u201c",
    0x11: "\u201d",
    0x12: "\u201e",
    0x13: "\u00ab",
    0x14: "\u00bb",
    0x15: "\u2013",
    0x16: "\u2014",
    0x17: "",  # compound word mark, zero width
    0x18: "",  # the small zero of a per-mille sign
    0x19: "\u0131",
    0x1A: "\u0237",
    0x1B: "ff",
    0x1C: "fi",
    0x1D: "fl",
    0x1E: "ffi",
    0x1F: "ffl",
}
LIGATURES = {code: unicodedata.normalize("NFKC", chr(code)) for code in range(0xFB00, 0xFB07)}
CONTROLS = {code: None for code in [*range(0x09), *range(0x0E, 0x10), *range(0x7F, 0xA0)]}
LINE_BREAKS = dict.fromkeys([0x0B, 0x0C, 0x0D, 0x2028, 0x2029], "\n")  # form feed: pdftotext's page break
# Soft hyphen, zero-width and direction marks, byte-order mark, and the replacement of undecodable bytes.
INVISIBLE = dict.fromkeys(
    [0xAD, *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2070), 0xFEFF, 0xFFFD]
)
SPACES = dict.fromkeys([0xA0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000], " ")
CLEAN = str.maketrans({**CONTROLS, **LINE_BREAKS, **INVISIBLE, **SPACES, **T1_CODES, **LIGATURES})
LINE_END_HYPHEN = re.compile(r"(\w+)-\n(\w+)")
COLUMN_GAP = re.compile(r"(?<=\S)(?: {2,}|[ \t]*\t[ \t]*)(?=\S)")
LINE_EDGES = re.compile(r"^[ \t]+|[ \t]+$", re.MULTILINE)
BLANK_LINES = re.compile(r"\n{3,}")


def clean_text(text: str) -> str:
    """Text as the model should read it: letters for ligature and font codes; no control, invisible or
    odd space characters; no space at line ends, at most one blank line in a row; words hyphenated at a
    line end rejoined.

    Lines stay, so the text keeps its reading order and a table its rows; a tab or a run of spaces between
    words (a column gap) becomes two spaces. A hyphen before a lowercase letter is TeX's, unless the text
    spells the same compound with a hyphen elsewhere."""
    text = text.replace("\r\n", "\n").translate(CLEAN)
    text = LINE_EDGES.sub("", COLUMN_GAP.sub("  ", text))
    text = BLANK_LINES.sub("\n\n", text).strip()

    def rejoin(match: re.Match[str]) -> str:
        left, right = match.groups()
        kept = not right[0].islower() or f"{left}-{right}" in text
        return f"{left}{'-' if kept else ''}{right}"

    return LINE_END_HYPHEN.sub(rejoin, text)


class Paper(BaseModel):
    """A paper as a list of page texts; a text file is one page."""

    source: str
    pages: list[str]

    @field_validator("pages")
    @classmethod
    def _clean(cls, pages: list[str]) -> list[str]:
        """Every page is cleaned, whoever built the paper: no other text reaches the model."""
        return [clean_text(page) for page in pages]

    @property
    def chars(self) -> int:
        return sum(len(page) for page in self.pages)

    def fit(self, max_chars: int) -> tuple[str, PaperInfo]:
        """The leading pages that fit in `max_chars`, and a record of what was left out.

        Whole pages are kept so the model never reads half a sentence at a page break; when even the first
        page is too long, it is cut at the limit."""
        kept: list[str] = []
        used = 0
        for page in self.pages:
            if used + len(page) > max_chars:
                break
            kept.append(page)
            used += len(page) + 2
        text = "\n\n".join(kept)
        if not kept and self.pages:
            text = self.pages[0][:max_chars]
        truncated = len(text) < len("\n\n".join(self.pages))
        note = ""
        if truncated:
            what = (
                f"the first {len(kept)} of {len(self.pages)} pages"
                if kept
                else f"the first {len(text)} chars"
            )
            note = f"the paper exceeds the model's context: the review is based on {what}"
        return text, PaperInfo(
            source=self.source,
            pages_total=len(self.pages),
            pages_used=len(kept) if kept else int(bool(text)),
            chars_total=self.chars,
            chars_used=len(text),
            truncated=truncated,
            note=note,
        )


def read_paper(path: Path) -> Paper:
    """A PDF's pages (pypdf's plain mode, which keeps a table's rows as lines), or a .txt/.md/.tex file as
    one page, cleaned for the model to read."""
    if not path.is_file():
        raise ConfigError(f"no paper at {path}", hint="give the path of a PDF or a text file")
    if path.suffix.lower() == ".pdf":
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError

        try:
            pages = [page.extract_text() or "" for page in PdfReader(path).pages]
        except (PdfReadError, ValueError, OSError) as exc:
            raise ConfigError(f"cannot read {path} as a PDF: {exc}") from None
    else:
        pages = [path.read_text(encoding="utf-8", errors="replace")]
    paper = Paper(source=str(path), pages=pages)
    if not any(paper.pages):
        raise ConfigError(
            f"{path} holds no extractable text", hint="a scanned PDF needs OCR first; or pass a .txt"
        )
    return paper
