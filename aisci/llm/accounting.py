"""What calls cost and said: each call's hold on the budget ledger, the spend per role, and one transcript
line per exchange, failed ones included."""

import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from aisci.errors import BudgetExceeded, LLMError
from aisci.llm import escrow
from aisci.llm.ledger import Ledger, Reservation
from aisci.llm.request import Request
from aisci.llm.transcript import TRANSCRIPT, Transcript
from aisci.settings import Settings


class Completion(BaseModel):
    role: str
    model: str
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    cut_off: bool = Field(False, description="the reply stopped at its token limit")


class RoleUsage(BaseModel):
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    def add(self, completion: Completion) -> None:
        self.calls += 1
        self.prompt_tokens += completion.prompt_tokens
        self.completion_tokens += completion.completion_tokens
        self.cost_usd += completion.cost_usd


class Accounting:
    """The books of one gateway: the ledger it spends from (its sweep's, for an idea folder), what it spent
    (earlier exchanges in its transcript included), usage per role, and the transcript itself. Without a
    run folder the ledger lives in memory and nothing is written."""

    def __init__(self, settings: Settings, run_dir: Path | None) -> None:
        self.transcript = Transcript(run_dir / TRANSCRIPT, settings.secret_values()) if run_dir else None
        self.ledger, self.idea = Ledger.for_run(run_dir) if run_dir else (Ledger(None), None)
        # A folder sent to a host without the sweep's ledger spends from the escrow held for it.
        self.escrow = escrow.read(run_dir) if run_dir else None
        if self.escrow:
            self.ledger, self.idea = escrow.ledger_of(run_dir, self.escrow), None
        self.spent_usd = self.transcript.spent_usd() if self.transcript else 0.0
        self.usage: dict[str, RoleUsage] = {}

    def reserve(
        self, usd: float, budget_usd: float, idea_budget_usd: float, ttl_s: float
    ) -> Reservation | None:
        """Hold a call's worst case against the caps (an escrow's, if the folder has one); raises
        BudgetExceeded when it cannot fit. With no cap there is nothing to hold (None), and no lock."""
        if self.escrow:
            budget_usd, idea_budget_usd = self.escrow.usd, 0.0
        if not Ledger.caps(budget_usd, self.idea, idea_budget_usd):
            return None
        try:
            return self.ledger.reserve(usd, budget_usd, self.idea, idea_budget_usd, ttl_s=ttl_s)
        except BudgetExceeded as exc:
            if not self.escrow:
                raise
            raise BudgetExceeded(
                f"the share of the budget sent with this idea is spent: {exc.message}",
                hint="everything so far is saved; the idea resumes with a higher AISCI_BUDGET_USD or "
                "AISCI_IDEA_BUDGET_USD where it was sent from",
            ) from None

    def settle(
        self, reservation: Reservation | None, completion: Completion | None, unanswered_usd: float = 0.0
    ) -> None:
        """Replace the hold by what the call cost, and count it. A refused call costs nothing; attempts the
        provider received but never answered (timeouts) count at their worst case, `unanswered_usd`, since
        it may have billed them."""
        cost = (completion.cost_usd if completion else 0.0) + unanswered_usd
        if reservation is None:
            self.ledger.add(self.idea, cost)
        else:
            self.ledger.settle(reservation, cost)
        if completion is not None:
            self.spent_usd += completion.cost_usd
            self.usage.setdefault(completion.role, RoleUsage()).add(completion)

    def record(
        self,
        request: Request,
        completion: Completion | None,
        started: float,
        attempts: int,
        error: LLMError | None = None,
    ) -> None:
        """The exchange's transcript line: what was sent, and the reply or the error it met."""
        if self.transcript is None:
            return
        record: dict[str, Any] = {
            "ts": time.time(),
            "role": request.role,
            "model": completion.model if completion else request.target.model,
            "messages": request.messages,
            "reply": completion.text if completion else None,
            "prompt_tokens": completion.prompt_tokens if completion else 0,
            "completion_tokens": completion.completion_tokens if completion else 0,
            "cost_usd": completion.cost_usd if completion else 0.0,
            "latency_s": round(time.monotonic() - started, 4),
            "attempts": attempts,
        }
        if completion and completion.cut_off:
            record["cut_off"] = True
        if error:
            record["error"] = error.message
            record["error_type"] = type(error).__name__
            record["status"] = error.status
        self.transcript.append(record)
