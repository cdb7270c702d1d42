"""The `aisci` command: light start-up, `aisci llm` over the real client path, clean errors."""

import json
import os
import subprocess
import sys

AISCI = [sys.executable, "-m", "aisci"]
HEAVY = (
    "litellm",
    "prefect",
    "torch",
    "docker",
    "xllamacpp",
    "pandas",
    "matplotlib",
    "pylatex",
)


def test_help_imports_no_heavy_library():
    code = "import sys; from aisci.cli import app; print(','.join(sorted(sys.modules)))"
    loaded = set(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split(
            ","
        )
    )
    assert not loaded & set(HEAVY)
    help_text = subprocess.run([*AISCI, "--help"], capture_output=True, text=True, check=True).stdout
    assert "doctor" in help_text and "llm" in help_text and "config" in help_text


def run_llm(scripted, isolated, *args):
    env = {"AISCI_MODELS__DEFAULT": "openai/scripted", "AISCI_LLM__API_BASE": scripted.url}
    return subprocess.run(
        [*AISCI, "llm", *args, "--workspace", str(isolated / "ws")],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )


def test_llm_prints_reply_tokens_and_cost(scripted, isolated):
    scripted.add({"role": "ideation", "reply": "Try cosine noise schedules.", "usage": [21, 5]})
    result = run_llm(scripted, isolated, "Suggest an idea")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Try cosine noise schedules."
    assert "21 prompt + 5 completion tokens" in result.stderr and "$0.000000" in result.stderr
    record = json.loads((isolated / "ws" / "llm" / "transcript.jsonl").read_text())
    assert record["messages"][0]["content"] == "Suggest an idea"


def test_llm_with_a_json_schema_file_repairs_once(scripted, isolated):
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    (isolated / "schema.json").write_text(json.dumps(schema))
    scripted.add({"contains": "could not be used", "reply": '{"n": 3}'}, {"reply": '{"n": "three"}'})
    result = run_llm(scripted, isolated, "Count", "--json-schema", str(isolated / "schema.json"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"n": 3}
    assert "2 call(s)" in result.stderr


def test_llm_auth_error_is_one_clean_line(scripted, isolated):
    scripted.add({"status": 401, "message": "bad key"})
    result = run_llm(scripted, isolated, "hello")
    assert result.returncode == 1
    assert result.stderr.startswith("[error] openai/scripted refused the credentials")
    assert "Traceback" not in result.stderr


def test_llm_unknown_provider_is_one_clean_line(isolated):
    result = subprocess.run(
        [*AISCI, "llm", "hi", "--model", "nosuchprovider/x-1", "--workspace", str(isolated / "ws")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "[error] nosuchprovider/x-1 names no provider litellm knows",
        "        name a model as provider/model, e.g. openai/gpt-4o (https://docs.litellm.ai/docs/providers)",
    ]


def test_llm_unknown_model_is_one_clean_line(scripted, isolated):
    scripted.add({"status": 404, "message": "The model `x-1` does not exist", "code": "model_not_found"})
    result = run_llm(scripted, isolated, "hello")
    assert result.returncode == 1
    assert result.stderr.startswith(
        "[error] openai/scripted is not a model this provider serves: The model `x-1` does not exist\n"
    )
    assert "Traceback" not in result.stderr
    record = json.loads((isolated / "ws" / "llm" / "transcript.jsonl").read_text())
    assert record["error_type"] == "LLMModelNotFound"
