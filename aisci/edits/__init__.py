"""How the coding model changes files: SEARCH/REPLACE blocks, applied only inside the idea's code folder."""

from aisci.edits.paths import PathRefused, resolve_editable
from aisci.edits.search_replace import (
    FORMAT_GUIDE,
    EditBlock,
    EditFormatError,
    EditResult,
    apply_edits,
    parse_edits,
)

__all__ = [
    "FORMAT_GUIDE",
    "EditBlock",
    "EditFormatError",
    "EditResult",
    "PathRefused",
    "apply_edits",
    "parse_edits",
    "resolve_editable",
]
