"""Paper text for the reviewer: pages from a PDF (pypdf) or a text file, cut to what the model can read."""

import re
import unicodedata
from pathlib import Path

from pydantic import BaseModel

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
CONTROLS = {code: None for code in [*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x10), *range(0x7F, 0xA0)]}
CLEAN = str.maketrans({**CONTROLS, 0x0D: "\n", **T1_CODES, **LIGATURES})
LINE_END_HYPHEN = re.compile(r"(\w+)-\n(\w+)")


def clean_text(text: str) -> str:
    """Letters for ligature and font codes, no control characters, words hyphenated at a line end rejoined.

    A hyphen before a lowercase letter is TeX's, unless the text spells the same compound with a hyphen
    elsewhere. Other line breaks stay, so the text keeps its lines and reading order."""
    text = text.replace("\r\n", "\n").translate(CLEAN)

    def rejoin(match: re.Match[str]) -> str:
        left, right = match.groups()
        kept = not right[0].islower() or f"{left}-{right}" in text
        return f"{left}{'-' if kept else ''}{right}"

    return LINE_END_HYPHEN.sub(rejoin, text)


class Paper(BaseModel):
    """A paper as a list of page texts; a text file is one page."""

    source: str
    pages: list[str]

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
    """A PDF's pages (pypdf), or a .txt/.md/.tex file as one page, cleaned for the model to read."""
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
    pages = [clean_text(page).strip() for page in pages]
    if not any(pages):
        raise ConfigError(
            f"{path} holds no extractable text", hint="a scanned PDF needs OCR first; or pass a .txt"
        )
    return Paper(source=str(path), pages=pages)
