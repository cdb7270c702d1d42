"""The budget ledger: parallel ideas of one sweep share one hard cap, over litellm's real path."""

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from aisci.errors import BudgetExceeded
from aisci.llm import Gateway
from aisci.llm.ledger import LEDGER, Ledger
from aisci.settings import LLMOptions, RoleModels, Settings

USER = [{"role": "user", "content": "Propose one experiment."}]
PRICED = "openai/gpt-4o"  # litellm's price map: $2.5 per 1M prompt tokens, $10 per 1M completion tokens
MAX_TOKENS = 400  # worst case per call: 400 * $10/1M = $0.004, plus the prompt


def make_sweep(tmp_path, ideas):
    sweep = tmp_path / "sweep"
    for name in ideas:
        (sweep / name).mkdir(parents=True)
        (sweep / name / "idea.json").write_text(json.dumps({"name": name}))
    return sweep


def spend(settings, idea_dir):
    """Calls until the ledger says stop; what this idea's gateway paid."""
    gateway = Gateway(settings, idea_dir)
    calls = 0
    try:
        while True:
            gateway.complete("coding", USER, max_tokens=MAX_TOKENS)
            calls += 1
    except BudgetExceeded as stop:
        return calls, gateway.spent_usd, stop.message


def priced(scripted, **updates):
    return Settings(models=RoleModels(default=PRICED), llm=LLMOptions(api_base=scripted.url), **updates)


def test_four_parallel_ideas_never_pass_the_sweep_budget(scripted, tmp_path):
    scripted.add({"reply": "an experiment", "usage": [30, 300], "delay_s": 0.05})  # $0.003075 a call
    budget = 0.05
    sweep = make_sweep(tmp_path, [f"idea_{i}" for i in range(4)])
    settings = priced(scripted, budget_usd=budget)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda name: spend(settings, sweep / name), [f"idea_{i}" for i in range(4)]))
    state = Ledger(sweep).state()
    spent = sum(paid for _, paid, _ in results)
    print(f"\n4 parallel ideas: spent ${spent:.6f} of ${budget:.2f} in {sum(c for c, _, _ in results)} calls")
    assert spent == pytest.approx(state.spent_usd) and state.reserved == []
    assert spent <= budget
    assert spent > budget - 0.0045  # stops only when the next worst case no longer fits
    assert all(calls > 0 for calls, _, _ in results)  # every idea got its share, none starved
    assert all("the run has spent" in message for _, _, message in results)
    assert state.idea_spent_usd == pytest.approx({f"idea_{i}": r[1] for i, r in enumerate(results)})


def test_each_idea_has_its_own_cap_and_a_higher_budget_resumes(scripted, tmp_path):
    scripted.add({"reply": "an experiment", "usage": [30, 300]})
    sweep = make_sweep(tmp_path, ["a", "b"])
    settings = priced(scripted, budget_usd=1.0, idea_budget_usd=0.02)
    calls, paid, message = spend(settings, sweep / "a")
    assert paid <= 0.02 and message.startswith("idea a has spent")
    assert spend(settings, sweep / "b")[1] <= 0.02
    before = len(scripted.requests)
    resumed = spend(priced(scripted, budget_usd=1.0, idea_budget_usd=0.03), sweep / "a")
    assert resumed[0] > 0 and len(scripted.requests) > before
    assert paid < resumed[1] <= 0.03  # the gateway's spend, read back from the idea's transcript
    assert Ledger(sweep).state().idea_spent_usd["a"] == pytest.approx(resumed[1])


def test_a_call_whose_worst_case_does_not_fit_is_never_sent(scripted, tmp_path):
    scripted.add({"reply": "cheap", "usage": [10, 10]})
    gateway = Gateway(priced(scripted, budget_usd=0.003), tmp_path)
    with pytest.raises(BudgetExceeded, match=r"could cost up to \$0\.004"):
        gateway.complete("coding", USER, max_tokens=MAX_TOKENS)
    assert scripted.requests == [] and not (tmp_path / "transcript.jsonl").exists()


def test_a_dead_process_reservation_counts_as_spent(tmp_path):
    code = (
        "import os, sys; from pathlib import Path; from aisci.llm.ledger import Ledger;"
        "Ledger(Path(sys.argv[1])).reserve(0.5, budget=1.0); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, env=os.environ)
    ledger = Ledger(tmp_path)
    assert ledger.state().spent_usd == pytest.approx(0.5)  # its call may have been billed
    started = time.monotonic()
    with pytest.raises(BudgetExceeded):
        ledger.reserve(0.6, budget=1.0)
    assert time.monotonic() - started < 1


def test_a_reservation_counted_as_stale_is_not_counted_again_when_settled(tmp_path):
    ledger = Ledger(tmp_path)
    outlived = ledger.reserve(0.5, budget=1.0, ttl_s=-1)  # already past its call's longest time
    assert ledger.state().spent_usd == pytest.approx(0.5)
    ledger.settle(outlived, 0.1)
    assert ledger.state().spent_usd == pytest.approx(0.5)


def test_a_line_cut_short_by_a_dying_writer_costs_no_line_after_it(tmp_path):
    ledger = Ledger(tmp_path)
    ledger.settle(ledger.reserve(0.2, budget=1.0), 0.2)
    with open(tmp_path / LEDGER, "ab") as journal:
        journal.write(b'{"hold": {"id": "cut')  # its writer was killed here
    other = Ledger(tmp_path)  # another process, appending next
    held = other.reserve(0.3, budget=1.0)
    for reader in (Ledger(tmp_path), ledger):
        state = reader.state()
        assert [r.id for r in state.reserved] == [held.id] and state.spent_usd == pytest.approx(0.2)


def test_a_journal_replaced_under_a_reader_is_read_again_whole(tmp_path):
    ledger = Ledger(tmp_path)
    ledger.settle(ledger.reserve(0.2, budget=1.0), 0.2)
    away = Ledger(tmp_path / "away")  # the same journal, as another host kept it
    for cost in (0.05, 0.4):
        away.settle(away.reserve(cost, budget=1.0), cost)
    os.replace(tmp_path / "away" / LEDGER, tmp_path / LEDGER)  # as a copy pulled back from storage lands
    assert ledger.state().spent_usd == pytest.approx(0.45)


def test_a_hold_for_a_stage_elsewhere_is_the_idea_share_of_what_is_left(tmp_path):
    ledger = Ledger(tmp_path)
    ledger.settle(ledger.reserve(0.2, budget=1.0, idea="a"), 0.2)
    first = ledger.hold_share(1.0, "b", 0.0, share=2, ttl_s=60)
    assert first.usd == pytest.approx(0.4)  # half of the $0.80 left
    assert ledger.hold_share(1.0, "c", 0.1, share=2, ttl_s=60).usd == pytest.approx(0.1)  # c's own cap
    ledger.settle(first, 0.3)
    assert ledger.state().spent_usd == pytest.approx(0.5)
    with pytest.raises(BudgetExceeded, match=r"the run has spent \$0.5000 of its \$0.50 budget"):
        ledger.hold_share(0.5, "d", 0.0, share=1, ttl_s=60)


def test_a_sweep_without_a_ledger_starts_from_its_transcripts(tmp_path):
    sweep = make_sweep(tmp_path, ["a"])
    (sweep / "a" / "transcript.jsonl").write_text(json.dumps({"cost_usd": 0.25}) + "\n")
    (sweep / "transcript.jsonl").write_text(json.dumps({"cost_usd": 0.5}) + "\n")
    state = Ledger(sweep).state()
    assert state.spent_usd == pytest.approx(0.75) and state.idea_spent_usd == {"a": 0.25}
