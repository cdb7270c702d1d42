"""A budget escrow, for a stage that runs on a host without the sweep's ledger.

A GPU host that reaches the workspace only through storage (`AISCI_STORAGE_URL`) cannot lock the sweep's
`ledger.json`. Before the idea folder is pushed, the sending host holds part of the budget in that ledger and
writes `escrow.json` into the folder; every gateway on the folder then spends from a ledger of its own
inside it, capped at the hold. Once the folder is back, the hold is settled at what the idea's transcript
grew by. The sweep's cap holds however many hosts run at once, at the price of each host seeing only its
share: the idea's remaining budget, or an equal share of what the sweep has left among the ideas running.
"""

import shutil
from pathlib import Path

from pydantic import BaseModel

from aisci.files import write_atomic
from aisci.llm.ledger import Ledger, Reservation
from aisci.llm.transcript import TRANSCRIPT, Transcript
from aisci.settings import Settings

ESCROW = "escrow.json"
ESCROW_LEDGER = "escrow"  # the folder, inside the idea's, of the ledgers its remote gateways share
HOLD_TTL_S = 7 * 24 * 3600.0  # the sending process waits on the stage, alive: only its death frees the hold


class Escrow(BaseModel):
    reservation: Reservation
    spent_before_usd: float  # the idea transcript's total when the hold was taken

    @property
    def usd(self) -> float:
        return self.reservation.usd


def read(idea_dir: Path) -> Escrow | None:
    path = idea_dir / ESCROW
    return Escrow.model_validate_json(path.read_text()) if path.is_file() else None


def ledger_of(idea_dir: Path, held: Escrow) -> Ledger:
    """The ledger the folder's gateways spend from while it is away: one per escrow, so an earlier one's
    spend, left in storage, never counts against a later one."""
    return Ledger(idea_dir / ESCROW_LEDGER / held.reservation.id)


def open_escrow(settings: Settings, idea_dir: Path, share: int = 1) -> Escrow | None:
    """Hold the idea's share of the budget for a stage sent elsewhere; None when nothing is capped.

    An escrow already in the folder is kept: a restarted idea joins the stage its crashed self sent."""
    escrow = read(idea_dir)
    if escrow is None:
        ledger, idea = Ledger.for_run(idea_dir)
        reservation = ledger.hold_share(
            settings.budget_usd, idea, settings.idea_budget_usd, share, ttl_s=HOLD_TTL_S
        )
        if reservation is None:
            return None
        escrow = Escrow(reservation=reservation, spent_before_usd=_spent(idea_dir))
        write_atomic(idea_dir / ESCROW, escrow.model_dump_json(indent=1))
    return escrow


def close_escrow(idea_dir: Path, escrow: Escrow, all_of_it: bool = False) -> float:
    """Settle the hold at what the stage spent (the transcript's growth; `all_of_it` when the folder did
    not come back, so nothing shows what it spent) and remove it; that spend."""
    spent = escrow.usd if all_of_it else max(0.0, _spent(idea_dir) - escrow.spent_before_usd)
    Ledger.for_run(idea_dir)[0].settle(escrow.reservation, spent)
    (idea_dir / ESCROW).unlink(missing_ok=True)
    shutil.rmtree(idea_dir / ESCROW_LEDGER, ignore_errors=True)
    return spent


def _spent(idea_dir: Path) -> float:
    return Transcript(idea_dir / TRANSCRIPT, []).spent_usd()
