"""SEARCH/REPLACE edit blocks: the format the coding model edits files with.

    experiment.py
    <<<<<<< SEARCH
    lr = 1e-3
    =======
    lr = 3e-4
    >>>>>>> REPLACE

An exact match is applied; failing that, a match that ignores whitespace. A block that matches nothing, or
more than one place, is reported back to the model with the closest lines, and the blocks that did apply are
named so they are not sent twice.
"""

import difflib
import re
from pathlib import Path

from pydantic import BaseModel

from aisci.edits.paths import PathRefused, resolve_editable
from aisci.files import write_atomic

SEARCH = re.compile(r"^\s*<{5,9} ?SEARCH\s*$")
DIVIDER = re.compile(r"^\s*={5,9}\s*$")
REPLACE = re.compile(r"^\s*>{5,9} ?REPLACE\s*$")
FENCE = re.compile(r"^\s*```")

FORMAT_GUIDE = """\
Edit files with SEARCH/REPLACE blocks. Each block names the file on its own line, then:
<<<<<<< SEARCH
(lines copied exactly from the current file, enough to be unique)
=======
(the lines that replace them)
>>>>>>> REPLACE
An empty SEARCH section creates a new file. You may edit experiment.py, plot.py and new Python modules in
the code folder; run folders and notes.txt cannot be edited."""


class EditBlock(BaseModel):
    path: str
    search: str
    replace: str


class EditFormatError(ValueError):
    """The reply's blocks are malformed; the message is written for the model."""


class EditResult(BaseModel):
    applied: list[str] = []
    errors: list[str] = []

    @property
    def ok(self) -> bool:
        return not self.errors

    def feedback(self) -> str:
        """What to tell the model when some blocks failed."""
        text = f"{len(self.errors)} SEARCH/REPLACE block(s) failed:\n\n" + "\n\n".join(self.errors)
        if self.applied:
            text += "\n\nThese blocks were applied; do not send them again: " + ", ".join(self.applied)
        return text


def parse_edits(text: str) -> list[EditBlock]:
    """Every block in a reply, in order. A block without a file name reuses the previous block's."""
    lines = text.splitlines()
    blocks: list[EditBlock] = []
    path = ""
    i = 0
    while i < len(lines):
        if not SEARCH.match(lines[i]):
            i += 1
            continue
        named = next(
            (ln.strip() for ln in reversed(lines[max(0, i - 3) : i]) if ln.strip() and not FENCE.match(ln)),
            "",
        )
        if named and not (DIVIDER.match(named) or REPLACE.match(named)):
            path = named.strip("`*: ")
        if not path:
            raise EditFormatError(
                "a SEARCH/REPLACE block does not name its file on the line before <<<<<<< SEARCH"
            )
        j = i + 1
        while j < len(lines) and not DIVIDER.match(lines[j]):
            j += 1
        k = j + 1
        while k < len(lines) and not REPLACE.match(lines[k]):
            k += 1
        if k >= len(lines):
            raise EditFormatError(
                f"the block for {path} is not closed: it needs ======= and >>>>>>> REPLACE lines"
            )
        blocks.append(
            EditBlock(path=path, search=_joined(lines[i + 1 : j]), replace=_joined(lines[j + 1 : k]))
        )
        i = k + 1
    return blocks


def apply_edits(code_dir: Path, blocks: list[EditBlock]) -> EditResult:
    """Apply what matches, write each changed file atomically, and report the rest."""
    result = EditResult()
    contents: dict[Path, str] = {}
    for n, block in enumerate(blocks, 1):
        label = f"block {n} ({block.path})"
        try:
            path = resolve_editable(code_dir, block.path)
        except PathRefused as exc:
            result.errors.append(f"## {label}: refused: {exc}")
            continue
        if path not in contents:
            contents[path] = path.read_text(encoding="utf-8") if path.exists() else ""
        try:
            contents[path] = _apply_one(contents[path], block)
        except ValueError as exc:
            result.errors.append(f"## {label}: {exc}")
            continue
        result.applied.append(label)
    for path, text in contents.items():
        write_atomic(path, text)
    return result


def _apply_one(content: str, block: EditBlock) -> str:
    if not block.search.strip():
        if content.strip():
            raise ValueError(
                "SEARCH is empty but the file already exists; copy the lines to replace into SEARCH"
            )
        return block.replace
    if content and not content.endswith("\n"):
        content += "\n"
    count = content.count(block.search)
    if count == 1:
        return content.replace(block.search, block.replace)
    lines = content.splitlines(keepends=True)
    if count > 1:
        starts = _line_numbers(content, block.search)
        raise ValueError(
            f"the SEARCH text matches {count} places (lines {', '.join(map(str, starts))}); "
            "include more surrounding lines so it matches exactly one"
        )
    search = block.search.splitlines()
    matches = _fuzzy_matches(lines, search)
    if len(matches) == 1:
        start = matches[0]
        replacement = _reindent(block.replace, search, lines[start : start + len(search)])
        return "".join(lines[:start]) + replacement + "".join(lines[start + len(search) :])
    if matches:
        where = ", ".join(str(m + 1) for m in matches)
        raise ValueError(
            f"the SEARCH text matches {len(matches)} places (lines {where}); add context to pick one"
        )
    raise ValueError("the SEARCH text matches nothing in the file." + _closest(lines, search))


def _joined(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def _norm(line: str) -> str:
    return " ".join(line.split())


def _fuzzy_matches(lines: list[str], search: list[str]) -> list[int]:
    wanted = [_norm(s) for s in search]
    normalised = [_norm(line) for line in lines]
    n = len(wanted)
    return [i for i in range(len(lines) - n + 1) if normalised[i : i + n] == wanted]


def _reindent(replace: str, search: list[str], found: list[str]) -> str:
    """Shift the replacement by the indentation the model got wrong, when it got it wrong consistently."""
    first = next((i for i, s in enumerate(search) if s.strip()), None)
    if first is None:
        return replace
    have = found[first][: len(found[first]) - len(found[first].lstrip())]
    gave = search[first][: len(search[first]) - len(search[first].lstrip())]
    if have == gave:
        return replace
    out = []
    for line in replace.splitlines(keepends=True):
        if line.strip() and line.startswith(gave):
            line = have + line[len(gave) :]
        out.append(line)
    return "".join(out)


def _line_numbers(content: str, needle: str) -> list[int]:
    starts, at = [], content.find(needle)
    while at != -1:
        starts.append(content.count("\n", 0, at) + 1)
        at = content.find(needle, at + 1)
    return starts


def _closest(lines: list[str], search: list[str]) -> str:
    if not lines:
        return " The file is empty."
    n = max(1, len(search))
    target = "\n".join(search)
    best, best_at = 0.0, 0
    for i in range(max(1, len(lines) - n + 1)):
        ratio = difflib.SequenceMatcher(None, target, "".join(lines[i : i + n])).ratio()
        if ratio > best:
            best, best_at = ratio, i
    if best < 0.5:
        return " No similar lines were found; check the file name and copy lines from the current file."
    shown = "".join(lines[best_at : best_at + n])
    return (
        f" Did you mean these lines ({best_at + 1}-{best_at + n})?\n```\n{shown}```\n"
        "SEARCH must copy the existing lines exactly, comments and indentation included."
    )
