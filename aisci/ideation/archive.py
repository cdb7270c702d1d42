"""The per-template idea archive: every idea of every sweep, and what became of it.

It lives in `<workspace>/archive/<template>/`, one JSON file per idea, so concurrent stages of different
ideas never write the same file. Later stages write their outcome back with `record_outcome`; generation
reads the best and worst outcomes into its prompt, so each sweep learns from the reviews of the earlier ones.
"""

import logging
from pathlib import Path

from pydantic import ValidationError

from aisci.files import write_json
from aisci.ideation.models import ArchiveEntry, Idea, Outcome
from aisci.ideation.similar import Known

log = logging.getLogger("aisci.ideation")


class Archive:
    def __init__(self, workspace: Path, template: str) -> None:
        self.template = template
        self.dir = workspace / "archive" / Path(template).name  # a template given as a path files by name

    def path(self, sweep_id: str, name: str) -> Path:
        return self.dir / f"{sweep_id}--{name}.json"

    def entries(self) -> list[ArchiveEntry]:
        """Oldest first. A file that cannot be read is skipped with a warning, not fatal to a new sweep."""
        found = []
        for path in sorted(self.dir.glob("*.json")):
            try:
                found.append(ArchiveEntry.model_validate_json(path.read_text(encoding="utf-8")))
            except (OSError, ValidationError) as exc:
                log.warning("skipping unreadable archive entry %s: %s", path, exc)
        return sorted(found, key=lambda e: e.idea.created_at)

    def known(self) -> list[Known]:
        return [Known(e.idea.name, e.idea.title, e.idea.hypothesis) for e in self.entries()]

    def add(self, idea: Idea) -> ArchiveEntry:
        """Store a new idea; re-adding one (a retried task) keeps the outcome already recorded."""
        path = self.path(idea.sweep_id, idea.name)
        outcome = self._read(path).outcome if path.exists() else Outcome()
        entry = ArchiveEntry(idea=idea, outcome=outcome)
        write_json(path, entry.model_dump(mode="json"))
        return entry

    def record_outcome(self, sweep_id: str, name: str, **fields: object) -> ArchiveEntry:
        """Merge outcome fields (see `Outcome`) into an archived idea."""
        path = self.path(sweep_id, name)
        if not path.exists():
            raise KeyError(f"no archived idea {name!r} in sweep {sweep_id!r} of template {self.template!r}")
        entry = self._read(path)
        outcome = Outcome.model_validate(entry.outcome.model_dump() | fields)
        updated = ArchiveEntry(idea=entry.idea, outcome=outcome)
        write_json(path, updated.model_dump(mode="json"))
        return updated

    def best_and_worst(self, k: int = 3) -> tuple[list[ArchiveEntry], list[ArchiveEntry]]:
        """Up to k best and k worst ideas with a known outcome. The upper half can be best, the rest worst,
        so an idea never appears in both; a failed or unoriginal idea is never among the best."""
        ranked = sorted(
            (e for e in self.entries() if e.outcome.rank() is not None),
            key=lambda e: e.outcome.rank() or 0.0,
            reverse=True,
        )
        upper = ranked[: min(k, (len(ranked) + 1) // 2)]
        best = [e for e in upper if e.outcome.rank()]
        worst = ranked[len(best) :][::-1][:k]
        return best, worst

    def _read(self, path: Path) -> ArchiveEntry:
        return ArchiveEntry.model_validate_json(path.read_text(encoding="utf-8"))


def record_outcome(workspace: Path, idea: Idea, **fields: object) -> ArchiveEntry:
    """For later stages: write what happened to `idea` (novelty, experiment, review) into the archive."""
    return Archive(workspace, idea.template).record_outcome(idea.sweep_id, idea.name, **fields)
