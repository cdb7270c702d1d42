"""The budget ledger of a sweep, shared by its parallel ideas and by every process and host working for it.

Each model call reserves its worst case (prompt tokens plus `max_tokens` at the model's price) before it is
sent and settles at its real cost afterwards, so however many calls run at once, the sum of what is settled
never passes the cap. The ledger is `ledger.json` in the sweep folder, changed only under an exclusive lock on
`ledger.lock` beside it; a workspace on a shared filesystem shares it between hosts. The cap itself is not
stored: each call passes the current one, so a run resumed with a higher budget goes on where it stopped.
"""

import fcntl
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
from aisci.files import write_atomic
from aisci.llm.transcript import TRANSCRIPT, Transcript, spent_under
from aisci.processes import alive

log = logging.getLogger("aisci.llm")

LEDGER = "ledger.json"
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


class Ledger:
    """Spend of one sweep folder; `folder` None keeps it in memory (calls outside any run)."""

    def __init__(self, folder: Path | None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.folder = folder
        self._sleep = sleep
        self._memory = LedgerState()
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
        with self._locked() as state:
            return state.model_copy(deep=True)

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
            with self._locked() as state:
                waiting = False
                for scope, cap, name, variable in caps:
                    spent, committed = state.committed(scope)
                    if spent + usd > cap:
                        raise _spent_out(
                            name, spent, cap, variable, f"; the next call could cost up to ${usd:.4f}"
                        )
                    waiting = waiting or committed + usd > cap
                if not waiting:
                    state.reserved.append(reservation)
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
            with self._locked() as state:
                rooms = []
                for scope, cap, name, variable in caps:
                    spent, committed = state.committed(scope)
                    if spent >= cap:
                        raise _spent_out(name, spent, cap, variable)
                    rooms.append((cap - committed) / (share if scope is None else 1))
                room = min(rooms)
                if room > 0:
                    reservation = Reservation(idea=idea, usd=room, expires=time.time() + ttl_s)
                    state.reserved.append(reservation)
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
        with self._locked() as state:
            state.add(idea, cost_usd)

    def settle(self, reservation: Reservation, cost_usd: float) -> None:
        """Replace the reservation by what the call really cost. One no longer held was counted at its
        worst case as stale (its process died, or it outlived its call), and that count stands."""
        with self._locked() as state:
            held = [r for r in state.reserved if r.id != reservation.id]
            if len(held) < len(state.reserved):
                state.reserved = held
                state.add(reservation.idea, cost_usd)

    @contextmanager
    def _locked(self) -> Iterator[LedgerState]:
        """The state, read and written back under the lock; stale reservations are settled first."""
        with self._thread_lock:
            if self.folder is None:
                yield self._memory
                return
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.folder / "ledger.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                path = self.folder / LEDGER
                state = (
                    LedgerState.model_validate_json(path.read_bytes()) if path.exists() else self._rebuild()
                )
                _settle_stale(state)
                yield state
                write_atomic(path, state.model_dump_json(indent=1))
            finally:
                os.close(fd)  # closing releases the lock

    def _rebuild(self) -> LedgerState:
        """A sweep that predates its ledger (or lost it) starts from what its transcripts record."""
        assert self.folder is not None
        ideas = {
            child.name: Transcript(child / TRANSCRIPT, []).spent_usd()
            for child in self.folder.iterdir()
            if (child / TRANSCRIPT).is_file()
        }
        return LedgerState(spent_usd=spent_under(self.folder), idea_spent_usd=ideas)


def _spent_out(name: str, spent: float, cap: float, variable: str, detail: str = "") -> BudgetExceeded:
    return BudgetExceeded(
        f"{name} has spent ${spent:.4f} of its ${cap:.2f} budget{detail}",
        hint=f"everything so far is saved; resume with a higher {variable}",
    )


def _settle_stale(state: LedgerState) -> None:
    """A reservation whose process died, or that outlived any call, counts as spent at its worst case:
    its call may have been billed, and the cap must hold."""
    host, now = socket.gethostname(), time.time()
    for r in list(state.reserved):
        if r.expires < now or (r.host == host and not alive(r.pid)):
            log.warning(
                "a call reserved $%.4f and never settled (pid %d on %s): counted as spent",
                r.usd,
                r.pid,
                r.host,
            )
            state.reserved.remove(r)
            state.add(r.idea, r.usd)
