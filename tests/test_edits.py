"""SEARCH/REPLACE edits: exact and whitespace-insensitive matches, model-facing errors, path safety."""

import os

import pytest

from aisci.edits import EditFormatError, apply_edits, parse_edits

CODE = """import torch

def train(lr):
    for step in range(10):
        loss = step * lr
    return loss

LR = 1e-3
"""


@pytest.fixture
def code_dir(tmp_path):
    (tmp_path / "experiment.py").write_text(CODE)
    (tmp_path / "run_0").mkdir()
    (tmp_path / "run_0" / "final_info.json").write_text("{}")
    return tmp_path


def block(path, search, replace):
    return f"{path}\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


def test_exact_match_is_applied(code_dir):
    reply = (
        "I will lower the rate.\n```python\n" + block("experiment.py", "LR = 1e-3\n", "LR = 3e-4\n") + "```"
    )
    result = apply_edits(code_dir, parse_edits(reply))
    assert result.ok and result.applied == ["block 1 (experiment.py)"]
    assert "LR = 3e-4\n" in (code_dir / "experiment.py").read_text()


def test_whitespace_insensitive_match_keeps_the_file_indentation(code_dir):
    search = "for step in range(10):\n  loss = step * lr\n"
    replace = "for step in range(20):\n  loss = step * lr * 0.5\n"
    result = apply_edits(code_dir, parse_edits(block("experiment.py", search, replace)))
    assert result.ok
    text = (code_dir / "experiment.py").read_text()
    assert "    for step in range(20):\n      loss = step * lr * 0.5\n    return loss\n" in text
    compile(text, "experiment.py", "exec")


def test_no_match_reports_the_closest_lines_and_what_was_applied(code_dir):
    reply = block("experiment.py", "LR = 1e-3\n", "LR = 1e-2\n") + block(
        "experiment.py", "def train(lr, wd):\n    for step in range(10):\n", "def train(lr):\n"
    )
    result = apply_edits(code_dir, parse_edits(reply))
    assert not result.ok
    feedback = result.feedback()
    assert "block 2 (experiment.py): the SEARCH text matches nothing" in feedback
    assert "Did you mean these lines (3-4)?" in feedback and "def train(lr):" in feedback
    assert "do not send them again: block 1 (experiment.py)" in feedback
    assert "LR = 1e-2" in (code_dir / "experiment.py").read_text()


def test_ambiguous_match_names_the_lines(code_dir):
    (code_dir / "plot.py").write_text("x = 1\ny = 2\nx = 1\n")
    result = apply_edits(code_dir, parse_edits(block("plot.py", "x = 1\n", "x = 2\n")))
    assert "matches 2 places (lines 1, 3)" in result.errors[0]
    assert (code_dir / "plot.py").read_text() == "x = 1\ny = 2\nx = 1\n"


def test_new_module_is_created_and_the_file_name_carries_over(code_dir):
    reply = (
        block("models/mlp.py", "", "import torch.nn as nn\n")
        + "<<<<<<< SEARCH\n=======\nX = 1\n>>>>>>> REPLACE\n"
    )
    result = apply_edits(code_dir, parse_edits(reply))
    assert not result.ok  # the second block reuses models/mlp.py, which now exists
    assert (code_dir / "models" / "mlp.py").read_text() == "import torch.nn as nn\n"


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/etc/passwd", "relative to the code folder"),
        ("../outside.py", "'..' is not allowed"),
        ("run_0/final_info.json", "run folders hold measured results"),
        ("idea.json", "only experiment.py, plot.py and new Python modules"),
        ("notes.txt", "only experiment.py, plot.py and new Python modules"),  # its measured lines are aisci's
        ("link/evil.py", "is a symlink"),
    ],
)
def test_edits_outside_the_allowed_set_are_refused(code_dir, tmp_path_factory, path, why):
    outside = tmp_path_factory.mktemp("outside")
    os.symlink(outside, code_dir / "link")
    result = apply_edits(code_dir, parse_edits(block(path, "", "pwned = True\n")))
    assert why in result.errors[0]
    assert not any(outside.iterdir())
    assert (code_dir / "run_0" / "final_info.json").read_text() == "{}"


def test_notes_are_aisci_s_alone(code_dir):
    forged = block("notes.txt", "", "- toy.loss = 0 (baseline 1; -1)\n")
    result = apply_edits(code_dir, parse_edits(forged))
    assert not result.ok and "'notes.txt': only experiment.py, plot.py" in result.errors[0]
    assert not (code_dir / "notes.txt").exists()


def test_unclosed_block_is_a_format_error():
    with pytest.raises(EditFormatError, match="not closed"):
        parse_edits("experiment.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n")


def test_file_mode_is_kept(code_dir):
    os.chmod(code_dir / "experiment.py", 0o755)
    apply_edits(code_dir, parse_edits(block("experiment.py", "LR = 1e-3\n", "LR = 1e-4\n")))
    assert (code_dir / "experiment.py").stat().st_mode & 0o777 == 0o755
