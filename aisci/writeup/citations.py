"""Citations: rounds in which the model asks for papers and picks among search hits, and the BibTeX for them.

Entries are built from the search metadata, never from model text, so a citation always points at a paper that
exists. Keys are derived from the metadata alone (first author, year, first title word), so the same paper
gets the same key in every run. Offline, the only candidates are the papers the novelty check already saw.
"""

import json
import logging
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from aisci.literature.models import Paper
from aisci.llm import Gateway
from aisci.settings import Settings

log = logging.getLogger("aisci.writeup")

Search = Callable[[str, int], list[Paper]]
RESULTS_PER_QUERY = 8
_STOP = {
    "a",
    "an",
    "the",
    "on",
    "of",
    "for",
    "in",
    "to",
    "and",
    "with",
    "via",
    "from",
    "towards",
    "toward",
    "is",
}
_CITE = re.compile(r"\\cite[tp]?\*?(?:\[[^\]]*\])*\{([^}]*)\}")
_SPACED_CITE = re.compile(r"([ \t~]*)(" + _CITE.pattern + ")")
_BIB_KEY = re.compile(r"@\w+\s*\{\s*([^,\s]+)\s*,")
_SPECIAL = {
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "\\": r"\textbackslash{}",
}


class Reference(BaseModel):
    key: str
    paper: Paper


class Bibliography(BaseModel):
    """The references a paper may cite: the template's own entries plus the papers picked in the rounds."""

    template_bibtex: str = ""
    references: list[Reference] = []
    mode: str = "semantic_scholar"  # or "offline": only papers from novelty.json
    note: str = ""
    queries: list[str] = []

    @property
    def cite_keys(self) -> list[str]:
        return _BIB_KEY.findall(self.template_bibtex) + [r.key for r in self.references]

    def add(self, paper: Paper) -> Reference:
        for ref in self.references:
            if ref.paper.paper_id and ref.paper.paper_id == paper.paper_id or ref.paper.title == paper.title:
                return ref
        ref = Reference(key=unique_key(citation_key(paper), set(self.cite_keys)), paper=paper)
        self.references.append(ref)
        return ref

    def bibtex(self) -> str:
        return (
            "\n".join([self.template_bibtex.strip(), *(bibtex_entry(r) for r in self.references)]).strip()
            + "\n"
        )

    def listing(self) -> str:
        """The keys the model may cite, one per line with the paper."""
        lines = [f"{r.key}: {r.paper.cite_line()}" for r in self.references]
        lines += [
            f"{key}: (from the template's bibliography)" for key in _BIB_KEY.findall(self.template_bibtex)
        ]
        return "\n".join(lines) or "(none)"


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def citation_key(paper: Paper) -> str:
    """`ho2020denoising`: first author's surname, year, first significant title word."""
    surname = re.sub(r"[^a-z]", "", _ascii(paper.authors[0].split()[-1]).lower()) if paper.authors else "anon"
    words = [w for w in re.findall(r"[a-z0-9]+", _ascii(paper.title).lower()) if w not in _STOP]
    return f"{surname or 'anon'}{paper.year or 'nd'}{words[0] if words else 'paper'}"


def unique_key(key: str, taken: set[str]) -> str:
    if key not in taken:
        return key
    suffix = "b"
    while key + suffix in taken:
        suffix = chr(ord(suffix) + 1)
    return key + suffix


def escape_bibtex(text: str) -> str:
    """A field value safe inside braces: LaTeX specials escaped, accents reduced to ASCII for pdflatex."""
    return "".join(_SPECIAL.get(c, c) for c in _ascii(" ".join(text.split())))


def bibtex_entry(ref: Reference) -> str:
    paper = ref.paper
    fields = {
        "title": "{" + escape_bibtex(paper.title) + "}",  # double braces keep the title's capitals
        "author": " and ".join(escape_bibtex(a) for a in paper.authors) or "Anonymous",
        "year": str(paper.year) if paper.year else None,
        "journal": escape_bibtex(paper.venue) if paper.venue else None,
        "url": paper.url,
    }
    kind = "article" if paper.venue else "misc"
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields.items() if value)
    return f"@{kind}{{{ref.key},\n{body}\n}}\n"


def cited_keys(latex: str) -> list[str]:
    return [k.strip() for m in _CITE.finditer(latex) for k in m.group(1).split(",") if k.strip()]


def drop_unresolved(latex: str, keys: set[str]) -> tuple[str, list[str]]:
    """Remove cite keys that resolve to no entry (a whole \\cite, with the space before it, when none is
    left, so no "model ." remains); returns what went."""
    dropped: list[str] = []

    def keep(match: re.Match) -> str:
        space, cite, inside = match.group(1), match.group(2), match.group(3)
        listed = [k.strip() for k in inside.split(",") if k.strip()]
        good = [k for k in listed if k in keys]
        dropped.extend(k for k in listed if k not in keys)
        if not good:
            return ""
        return space + cite.replace(inside, ",".join(good))

    return _SPACED_CITE.sub(keep, latex), dropped


def novelty_papers(idea_dir: Path) -> list[Paper]:
    """Every paper recorded in the idea's novelty.json, whatever its nesting."""
    path = idea_dir / "novelty.json"
    if not path.is_file():
        return []
    found: dict[str, Paper] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "title" in node and ("paper_id" in node or "authors" in node):
                paper = Paper.model_validate({"paper_id": "", **node})
                found.setdefault(paper.paper_id or paper.title, paper)
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(path.read_text()))
    return list(found.values())


class QueryReply(BaseModel):
    done: bool = Field(description="true when the paper cites enough work already")
    query: str = Field("", description="a Semantic Scholar search query for the next paper(s) to cite")


class PickReply(BaseModel):
    picks: list[int] = Field(description="indices of the listed papers to cite; empty when none fits")


OFFLINE_PAPERS = 10  # papers from novelty.json cited when Semantic Scholar cannot be reached


def gather_citations(
    gateway: Gateway,
    context: str,
    bibliography: Bibliography,
    search: Search | None,
    known: list[Paper],
    rounds: int,
) -> Bibliography:
    """Up to `rounds` query-and-pick rounds. Offline (`search` None, or the search failing), no round is
    spent on a service that cannot answer: the papers the novelty check saw are the candidates."""
    bib = bibliography.model_copy(deep=True)
    if search is None:
        return _offline(bib, known, "Semantic Scholar not used: only papers from novelty.json were cited")
    for _ in range(rounds):
        ask = [
            {
                "role": "system",
                "content": "You are writing the related work of an ML paper and choose what to cite.",
            },
            {
                "role": "user",
                "content": f"{context}\n\nAlready in the bibliography:\n{bib.listing()}\n\n"
                "Name one search query for papers this paper should cite and does not yet, or set done.",
            },
        ]
        reply = gateway.complete_json("writing", ask, QueryReply)
        if reply.done or not reply.query.strip():
            break
        bib.queries.append(reply.query)
        try:
            hits = search(reply.query, RESULTS_PER_QUERY)
        except Exception as exc:  # any failure of the search service means we are offline for this paper
            log.warning("literature search failed (%s); citing only papers from novelty.json", exc)
            note = f"Semantic Scholar unreachable ({type(exc).__name__}): cited only papers from novelty.json"
            return _offline(bib, known, note)
        if not hits:
            continue
        listing = "\n".join(
            f"{i}: {p.cite_line()}" + (f"\n   {p.abstract[:300]}" if p.abstract else "")
            for i, p in enumerate(hits)
        )
        pick = [
            *ask,
            {"role": "assistant", "content": json.dumps({"done": False, "query": reply.query})},
            {
                "role": "user",
                "content": f"Results for '{reply.query}':\n{listing}\n\n"
                "Pick the papers worth citing (indices); pick none when none is relevant.",
            },
        ]
        for index in gateway.complete_json("writing", pick, PickReply).picks:
            if 0 <= index < len(hits):
                bib.add(hits[index])
    return bib


def _offline(bib: Bibliography, known: list[Paper], note: str) -> Bibliography:
    for paper in known[:OFFLINE_PAPERS]:
        bib.add(paper)
    bib.mode, bib.note = "offline", note
    return bib


def s2_search(settings: Settings) -> Search:
    """Semantic Scholar through the shared client (rate limit, disk cache). Few retries: when the service is
    unreachable the writeup goes on with the novelty papers rather than waiting out a long backoff."""
    from aisci.literature import S2Client, S2Options

    key = settings.s2_api_key.get_secret_value() if settings.s2_api_key else None
    cache = settings.workspace / "cache" / "s2"
    client = S2Client(api_key=key, cache_dir=cache, options=S2Options(max_retries=2))
    return lambda query, limit: client.search(query).papers[:limit]
