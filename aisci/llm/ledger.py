"""The budget ledger of a sweep, shared by its parallel ideas and by every process and host working for it.

Each model call reserves its worst case (prompt tokens plus `max_tokens` at the model's price) before it is
sent and settles at its real cost afterwards, so however many calls run at once, the sum of what is settled
never passes the cap. The ledger is `ledger.jsonl` in the sweep folder, a journal of holds, releases and
spends, one JSON line each, appended only under an exclusive lock on the journal itself; a workspace on a
shared filesystem shares it between hosts. Each process keeps the state it has read and reads only the lines
added since, so a call costs two short appends, not two rewrites of a file. The cap itself is not stored:
each call passes the current one, so a run resumed with a higher budget goes on where it stopped.
"""

import fcntl
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, Field

from aisci.errors import BudgetExceeded
from aisci.llm.transcript import TRANSCRIPT, Transcript, spent_under
from aisci.processes import alive

log = logging.getLogger("aisci.llm")

LEDGER = "ledger.jsonl"
Cap = tuple[str | None, float, str, str]  # scope (None: the sweep, else an idea), cap, its name, its setting
POLL_S = 0.1


class Reservation(BaseModel):
    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    idea: str | None = None
    usd: float
    host: str = Field(default_factory=socket.gethostname)
    pid: int = Field(default_factory=os.getpid)
    expires: float


class LedgerState(BaseModel):
    spent_usd: float = 0.0
    idea_spent_usd: dict[str, float] = {}
    reserved: list[Reservation] = []

    def committed(self, idea: str | None = None) -> tuple[float, float]:
        """(settled, settled + reserved), for the whole sweep or for one idea."""
        if idea is None:
            spent = self.spent_usd
            held = sum(r.usd for r in self.reserved)
        else:
            spent = self.idea_spent_usd.get(idea, 0.0)
            held = sum(r.usd for r in self.reserved if r.idea == idea)
        return spent, spent + held

    def add(self, idea: str | None, usd: float) -> None:
        self.spent_usd += usd
        if idea is not None:
            self.idea_spent_usd[idea] = self.idea_spent_usd.get(idea, 0.0) + usd

    def apply(self, entry: dict) -> None:
        """One journal line: the starting spend, a hold, a hold released at a cost, or a spend."""
        if "start" in entry:
            start = LedgerState.model_validate(entry["start"])
            self.spent_usd, self.idea_spent_usd = start.spent_usd, start.idea_spent_usd
        elif "hold" in entry:
            self.reserved.append(Reservation.model_validate(entry["hold"]))
        elif "release" in entry:
            self.reserved = [r for r in self.reserved if r.id != entry["release"]]
            self.add(entry["idea"], entry["usd"])
        else:
            self.add(entry["idea"], entry["spend"])


class Book:
    """The ledger's state while it is locked, and the lines that change it, appended when the lock is let
    go. Every change goes through `LedgerState.apply`, as it does when the journal is read back."""

    def __init__(self, state: LedgerState) -> None:
        self.state = state
        self.entries: list[dict] = []

    def start(self, state: LedgerState) -> None:
        self._enter({"start": state.model_dump()})

    def hold(self, reservation: Reservation) -> None:
        self._enter({"hold": reservation.model_dump()})

    def release(self, reservation: Reservation, usd: float) -> None:
        self._enter({"release": reservation.id, "idea": reservation.idea, "usd": usd})

    def spend(self, idea: str | None, usd: float) -> None:
        self._enter({"spend": usd, "idea": idea})

    def _enter(self, entry: dict) -> None:
        self.state.apply(entry)
        self.entries.append(entry)


class Ledger:
    """Spend of one sweep folder; `folder` None keeps it in memory (calls outside any run)."""

    def __init__(self, folder: Path | None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.folder = folder
        self._sleep = sleep
        self._memory = LedgerState()  # in memory only, or as of the journal's first `_read` bytes
        self._read = 0
        self._journal: tuple[int, int] | None = None  # (device, inode) of the journal `_memory` was read from
        self._thread_lock = threading.Lock()

    @classmethod
    def for_run(cls, run_dir: Path) -> tuple["Ledger", str | None]:
        """The ledger a run folder spends from, and the idea it spends for.

        An idea folder (it holds `idea.json`) spends from its sweep's ledger, one level up; any other run
        folder (a sweep's own calls, `aisci llm`, a benchmark) keeps its own."""
        if (run_dir / "idea.json").is_file():
            return cls(run_dir.parent), run_dir.name
        return cls(run_dir), None

    def state(self) -> LedgerState:
        with self._locked() as book:
            return book.state.model_copy(deep=True)

    def reserve(
        self,
        usd: float,
        budget: float,
        idea: str | None = None,
        idea_budget: float = 0.0,
        ttl_s: float = 3600,
    ) -> Reservation:
        """Hold `usd` against both caps (0: no cap), waiting while other calls' reservations may still free
        enough. Raises BudgetExceeded once what is already settled leaves no room for this call."""
        reservation = Reservation(idea=idea, usd=usd, expires=time.time() + ttl_s)
        caps = self.caps(budget, idea, idea_budget)
        while True:
            with self._locked() as book:
                waiting = False
                for scope, cap, name, variable in caps:
                    spent, committed = book.state.committed(scope)
                    if spent + usd > cap:
                        raise _spent_out(
                            name, spent, cap, variable, f"; the next call could cost up to ${usd:.4f}"
                        )
                    waiting = waiting or committed + usd > cap
                if not waiting:
                    book.hold(reservation)
                    return reservation
            self._sleep(POLL_S)

    def hold_share(
        self, budget: float, idea: str | None, idea_budget: float, share: int, ttl_s: float
    ) -> Reservation | None:
        """Hold what a stage working elsewhere may spend: the idea's uncommitted budget, at most `1/share` of
        the sweep's, waiting while other holds may still free some; None when nothing is capped. Raises
        BudgetExceeded once what is settled leaves nothing."""
        caps = self.caps(budget, idea, idea_budget)
        if not caps:
            return None
        while True:
            with self._locked() as book:
                rooms = []
                for scope, cap, name, variable in caps:
                    spent, committed = book.state.committed(scope)
                    if spent >= cap:
                        raise _spent_out(name, spent, cap, variable)
                    rooms.append((cap - committed) / (share if scope is None else 1))
                room = min(rooms)
                if room > 0:
                    reservation = Reservation(idea=idea, usd=room, expires=time.time() + ttl_s)
                    book.hold(reservation)
                    return reservation
            self._sleep(POLL_S)

    @staticmethod
    def caps(budget: float, idea: str | None, idea_budget: float) -> list[Cap]:
        """The caps a call is held to; a cap of 0 is none."""
        caps = [(None, budget, "the run", "AISCI_BUDGET_USD")]
        if idea is not None:
            caps.append((idea, idea_budget, f"idea {idea}", "AISCI_IDEA_BUDGET_USD"))
        return [cap for cap in caps if cap[1]]

    def add(self, idea: str | None, cost_usd: float) -> None:
        """Spend made with no cap to hold against. Only a ledger already on disk records it: without one, a
        capped run later rebuilds the ledger from the transcripts, which hold every call."""
        if self.folder is not None and not (self.folder / LEDGER).exists():
            return
        with self._locked() as book:
            book.spend(idea, cost_usd)

    def settle(self, reservation: Reservation, cost_usd: float) -> None:
        """Replace the reservation by what the call really cost. One no longer held was counted at its
        worst case as stale (its process died, or it outlived its call), and that count stands."""
        with self._locked() as book:
            if any(r.id == reservation.id for r in book.state.reserved):
                book.release(reservation, cost_usd)

    @contextmanager
    def _locked(self) -> Iterator[Book]:
        """The state, brought up to date under the lock, stale reservations settled first; the lines the
        block enters are appended, in one write, before the lock is let go."""
        with self._thread_lock:
            if self.folder is None:
                yield Book(self._memory)
                return
            fd = _open(self.folder)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                torn = self._catch_up(fd)
                book = Book(self._memory)
                try:
                    if self._read == 0:
                        book.start(self._rebuild())
                    _settle_stale(book)
                    yield book
                finally:  # what was entered stands, even when the block raises (a call that cannot fit)
                    self._append(fd, book.entries, torn)
            finally:
                os.close(fd)  # closing releases the lock

    def _catch_up(self, fd: int) -> bool:
        """Apply the journal's lines added since this process last read it (all of them, for a journal
        replaced or new to it). True when it ends in part of a line, a writer having died mid-line: the
        next lines then start on a line of their own, and the part is skipped as unreadable."""
        stat = os.fstat(fd)
        if (stat.st_dev, stat.st_ino) != self._journal or stat.st_size < self._read:
            self._memory, self._read, self._journal = LedgerState(), 0, (stat.st_dev, stat.st_ino)
        data = os.pread(fd, stat.st_size - self._read, self._read) if stat.st_size > self._read else b""
        whole = data.rfind(b"\n") + 1
        for line in filter(bytes.strip, data[:whole].splitlines()):
            try:
                self._memory.apply(json.loads(line))
            except (ValueError, KeyError, TypeError):
                log.warning("skipped an unreadable line of %s: %r", self.folder, line[:80])
        self._read += len(data)
        return whole < len(data)

    def _append(self, fd: int, entries: list[dict], torn: bool) -> None:
        if not entries:
            return
        lines = "".join(json.dumps(entry) + "\n" for entry in entries).encode()
        data = b"\n" + lines if torn else lines
        try:
            os.write(fd, data)  # one write to an O_APPEND descriptor, under the lock
        except OSError:
            self._journal = None  # memory is ahead of the journal now: read it all again next time
            raise
        self._read += len(data)

    def _rebuild(self) -> LedgerState:
        """A sweep that predates its ledger (or lost it) starts from what its transcripts record."""
        assert self.folder is not None
        ideas = {
            child.name: Transcript(child / TRANSCRIPT, []).spent_usd()
            for child in self.folder.iterdir()
            if (child / TRANSCRIPT).is_file()
        }
        return LedgerState(spent_usd=spent_under(self.folder), idea_spent_usd=ideas)


def _open(folder: Path) -> int:
    """The journal, open to append to; its folder is made when missing (a new sweep's, an escrow's)."""
    path, flags = folder / LEDGER, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
    try:
        return os.open(path, flags, 0o644)
    except FileNotFoundError:
        folder.mkdir(parents=True, exist_ok=True)
        return os.open(path, flags, 0o644)


def _spent_out(name: str, spent: float, cap: float, variable: str, detail: str = "") -> BudgetExceeded:
    return BudgetExceeded(
        f"{name} has spent ${spent:.4f} of its ${cap:.2f} budget{detail}",
        hint=f"everything so far is saved; resume with a higher {variable}",
    )


def _settle_stale(book: Book) -> None:
    """A reservation whose process died, or that outlived any call, counts as spent at its worst case:
    its call may have been billed, and the cap must hold."""
    host, now = socket.gethostname(), time.time()
    for r in list(book.state.reserved):
        if r.expires < now or (r.host == host and not alive(r.pid)):
            log.warning(
                "a call reserved $%.4f and never settled (pid %d on %s): counted as spent",
                r.usd,
                r.pid,
                r.host,
            )
            book.release(r, r.usd)
