"""`aisci up` as a user runs it, looked at in a real browser (Debian's chromium driven by Playwright): a sweep
triggered through the API and its summary read in the UI, a failed idea retried with the UI's Retry button,
and everything stopped by SIGTERM. Screenshots are kept in the test's folder."""

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from idea_fixtures import SEEDS, sweep_rules
from loopback import free_port
from toy_template import EXPERIMENT_RULES, REVIEW, make_toy_template, save_toy_idea
from waiting import wait_for
from writeup_fixture import script as writeup_script

from aisci.sandbox._supervisor import descendants

# read at import: the `isolated` fixture clears every AISCI_* variable before a test runs
SCREENSHOTS = os.environ.get("AISCI_TEST_SCREENSHOTS")

CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
UNREACHABLE_S2 = {"api_url": "http://127.0.0.1:9", "max_retries": 0, "timeout_s": 2}


@pytest.fixture
def aisci_up(isolated, scripted):
    """`aisci up` in its own session, on free ports, with the scripted model; stopped by the test."""
    workspace = isolated / "ws"
    port, files_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "AISCI_"))}
    env |= {
        "AISCI_WORKSPACE": str(workspace),
        "AISCI_SANDBOX_BACKEND": "local",
        "AISCI_MODELS__DEFAULT": "openai/scripted",
        "AISCI_LLM__API_BASE": scripted.url,
        "AISCI_RUN_TIMEOUT_S": "120",
        "AISCI_PREFECT__PICKUP_TIMEOUT_S": "600",
    }
    log = (isolated / "up.log").open("w")
    up = subprocess.Popen(
        [sys.executable, "-m", "aisci", "up", "--port", str(port), "--files-port", str(files_port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api = f"http://127.0.0.1:{port}/api"
    wait_for(
        lambda: "Prefect UI:" in (isolated / "up.log").read_text() or up.poll() is not None,
        timeout=300,
        every=2,
        what="aisci up to start",
    )
    assert up.poll() is None, (isolated / "up.log").read_text()
    yield {"process": up, "api": api, "ui": api.removesuffix("/api"), "workspace": workspace}
    if up.poll() is None:
        os.killpg(up.pid, signal.SIGKILL)
    up.wait(timeout=30)


def wait_final(client, flow_run_id, timeout: float = 600):
    return wait_for(
        lambda: (r := client.read_flow_run(flow_run_id)).state.is_final() and r,
        timeout=timeout,
        every=3,
        what="the flow run to end",
    )


def test_aisci_up_runs_a_sweep_shows_it_in_a_browser_retries_from_the_ui_and_stops_on_sigterm(
    aisci_up, scripted, isolated, monkeypatch
):
    import playwright.sync_api as playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: scripts/setup.sh installs it"
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    shots = Path(SCREENSHOTS or isolated / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    template = make_toy_template(isolated / "templates" / "toy")
    (template / "seed_ideas.json").write_text(json.dumps(SEEDS))
    scripted.add(*sweep_rules())
    options = {
        "num_ideas": 1,
        "reflections": 0,
        "top_k": 1,
        "novelty": {"rounds": 2, "s2": UNREACHABLE_S2},
        "idea": {"max_runs": 2, "max_attempts": 1, "review": {"ensemble": 1, "reflections": 0}},
    }
    monkeypatch.setenv("PREFECT_API_URL", aisci_up["api"])
    with (
        temporary_settings(updates={PREFECT_API_URL: aisci_up["api"]}),
        get_client(sync_client=True) as client,
    ):
        deployment = client.read_deployment_by_name("sweep/sweep")
        form = deployment.parameter_openapi_schema["properties"]
        assert "2d_diffusion" in form["template"]["enum"]
        assert form["options"]["default"]["num_ideas"] == 3  # the form opens with the model's fields

        sweep = run_deployment(
            "sweep/sweep", parameters={"template": str(template), "options": options}, timeout=0
        )
        sweep = wait_final(client, sweep.id)
        assert sweep.state.is_completed(), sweep.state
        assert sweep.name == "sweep-toy"
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[sweep.id]))
        )
        sweep_id = next(p.name for p in aisci_up["workspace"].iterdir() if p.name.endswith("-toy"))
        assert f"idea-{sweep_id}/ema_weights" in {r.name for r in children}
        versions = [
            a for a in client.read_artifacts() if a.key == "sweep-summary" and a.flow_run_id == sweep.id
        ]
        artifact = max(versions, key=lambda a: a.created)
        assert "ema_weights" in artifact.data and "| done |" in artifact.data
        pdf_url = artifact.data.split("[PDF](", 1)[1].split(")", 1)[0]
        response = httpx.get(pdf_url)
        assert response.status_code == 200 and response.content.startswith(b"%PDF")

        # An idea deployment run that fails at review (the key is refused), retried from the UI.
        folder = save_toy_idea(aisci_up["workspace"], str(template), "ui-retry")
        scripted.rules.clear()
        scripted.add(
            *EXPERIMENT_RULES, {"role": "review", "status": 401, "message": "key revoked"}, *writeup_script()
        )
        idea = run_deployment(
            "idea/idea",
            parameters={
                "idea_dir": str(folder),
                "options": {"max_runs": 2, "review": {"ensemble": 1, "reflections": 0}},
            },
            timeout=0,
        )
        idea = wait_final(client, idea.id)
        assert idea.state.is_failed(), idea.state
        scripted.rules.clear()
        scripted.add({"role": "review", "reply": REVIEW})

        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(aisci_up["ui"] + "/runs", wait_until="networkidle")
            page.screenshot(path=shots / "0-runs-loading.png", full_page=True)
            page.get_by_text("sweep-toy").first.wait_for(timeout=30_000)
            page.screenshot(path=shots / "1-runs.png", full_page=True)
            page.goto(f"{aisci_up['ui']}/runs/flow-run/{sweep.id}", wait_until="networkidle")
            page.screenshot(path=shots / "2-sweep-run.png", full_page=True)
            page.get_by_text("Artifacts", exact=True).click()  # the run page's tabs are buttons
            page.get_by_text("sweep-summary").first.click()
            page.get_by_text("ema_weights").first.wait_for(timeout=30_000)
            page.screenshot(path=shots / "3-sweep-summary.png", full_page=True)

            page.goto(f"{aisci_up['ui']}/runs/flow-run/{idea.id}", wait_until="networkidle")
            page.screenshot(path=shots / "4-failed-idea.png", full_page=True)
            retried_at = datetime.now(UTC)
            page.get_by_role("button", name="Retry").first.click()
            dialog = page.get_by_role("dialog")
            if dialog.count():
                page.screenshot(path=shots / "5-retry-dialog.png", full_page=True)
                dialog.get_by_role("button", name="Retry").click()
            final = wait_for(
                lambda: (r := client.read_flow_run(idea.id)).state.is_final() and r.run_count > 1 and r,
                timeout=600,
                every=3,
                what="the retried run to finish",
            )
            page.reload(wait_until="networkidle")
            page.screenshot(path=shots / "6-retried-idea.png", full_page=True)
            browser.close()
        assert final.state.is_completed(), final.state
        after = [
            t
            for t in client.read_task_runs()
            if t.flow_run_id == idea.id and t.start_time and t.start_time > retried_at
        ]
        states = {t.name.rsplit("-", 1)[0]: t.state.name for t in after}
        assert states["experiments"] == "Cached" and states["writeup"] == "Cached"
        assert states["review"] == "Completed"

    up = aisci_up["process"]
    below = descendants(up.pid)
    assert len(below) >= 3  # server and two workers
    up.send_signal(signal.SIGTERM)
    assert up.wait(timeout=60) == 0
    log = (isolated / "up.log").read_text()
    assert "Traceback" not in log, log[-3000:]
    left = [pid for pid in below if Path(f"/proc/{pid}").exists()]
    assert left == [], left
