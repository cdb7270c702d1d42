"""Paper text for the reviewer: pages from a PDF (pypdf) or a text file, cut to what the model can read."""

from pathlib import Path

from pydantic import BaseModel

from aisci.errors import ConfigError
from aisci.review.form import PaperInfo


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
    """A PDF's pages (pypdf), or a .txt/.md/.tex file as one page."""
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
    pages = [page.strip() for page in pages]
    if not any(pages):
        raise ConfigError(
            f"{path} holds no extractable text", hint="a scanned PDF needs OCR first; or pass a .txt"
        )
    return Paper(source=str(path), pages=pages)
