"""Preflight checks: missing tools, unreachable models, unwritable workspaces, and the CLI's exit code."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from aisci.errors import ConfigError
from aisci.preflight import LATEX_TOOLS, check_models, check_workspace, preflight


def test_tool_missing_from_path_fails_with_a_fix(isolated, scripted):
    scripted.add({"reply": "OK"})
    bin_dir = isolated / "bin"
    bin_dir.mkdir()
    for tool in LATEX_TOOLS:
        if tool != "pdflatex":
            os.symlink(shutil.which(tool), bin_dir / tool)
    env = dict(
        os.environ,
        PATH=str(bin_dir),
        AISCI_SANDBOX_BACKEND="local",
        AISCI_MODELS__DEFAULT="openai/scripted",
        AISCI_LLM__API_BASE=scripted.url,
    )
    result = subprocess.run(
        [sys.executable, "-m", "aisci", "doctor", "--json", "--workspace", str(isolated / "ws")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 1, result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    assert checks["pdflatex"]["status"] == "fail"
    assert "texlive-latex-base" in checks["pdflatex"]["fix"]
    assert checks["latexmk"]["status"] == "ok"
    assert checks["model openai/scripted"]["status"] == "ok"
    assert checks["sandbox"]["status"] == "warn"
    assert checks["workspace"]["detail"] == str(isolated / "ws")


def test_model_refusing_the_key_is_a_failed_check(scripted, scripted_settings):
    scripted.add({"status": 401, "message": "invalid key"})
    [check] = check_models(scripted_settings)
    assert check.status == "fail"
    assert "openai/scripted refused the credentials" in check.detail


def test_preflight_raises_before_spending(scripted, scripted_settings, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    scripted.add({"reply": "OK"})
    settings = scripted_settings.model_copy(update={"sandbox_backend": "local"})
    with pytest.raises(ConfigError) as caught:
        preflight(settings)
    assert "  - chktex: not found on PATH" in caught.value.message


def test_unwritable_workspace(scripted_settings, isolated):
    (isolated / "a-file").write_text("")
    [check] = check_workspace(scripted_settings.model_copy(update={"workspace": isolated / "a-file" / "ws"}))
    assert check.status == "fail"
    assert "is not writable" in check.detail and "--workspace" in check.fix


def test_each_stage_checks_what_it_needs_once(scripted, scripted_settings, monkeypatch):
    path = os.environ["PATH"]
    monkeypatch.setenv("PATH", "/nonexistent")
    scripted.add({"reply": "OK"})
    settings = scripted_settings.model_copy(update={"sandbox_backend": "local"})
    checks = {c.name: c for c in preflight(settings, "ideas")}
    assert "pdflatex" not in checks and "sandbox" not in checks
    assert (
        checks["model openai/scripted"].detail == "ideation, coding, writing, review: provider known, key set"
    )
    assert scripted.requests == []  # a stage's preflight spends nothing; the sweep's makes one tiny call
    with pytest.raises(ConfigError) as caught:
        preflight(settings, "review")
    assert caught.value.message == "the review cannot start:\n  - pdftotext: not found on PATH " + (
        "(fix: apt-get install poppler-utils (scripts/setup.sh installs it))"
    )
    monkeypatch.setenv("PATH", path)
    preflight(settings, "sweep")
    assert len(scripted.requests) == 1
    preflight(settings, "sweep")
    preflight(settings, "write")
    assert len(scripted.requests) == 1  # what passed is not checked again in this process
