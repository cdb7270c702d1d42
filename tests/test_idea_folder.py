"""An idea's folder made from a real template: its code, data and declarations, none of its output."""

from pathlib import Path

import pytest
from toy_template import make_toy_template, save_toy_idea

from aisci.idea_folder import prepare
from aisci.templates import SPEC_FILE, load_spec

REPO = Path(__file__).resolve().parents[1]


def test_the_idea_gets_the_template_code_and_its_declarations(tmp_path: Path) -> None:
    folder = save_toy_idea(tmp_path / "ws", "2d_diffusion", "sweep-1")
    template = prepare(folder, tmp_path / "ws")
    assert template == REPO / "templates" / "2d_diffusion"
    assert (folder / SPEC_FILE).read_text() == (template / SPEC_FILE).read_text()
    assert load_spec(folder).metric("kl_divergence").primary
    assert (folder / "experiment.py").is_file() and (folder / "data" / "dino.csv").is_file()
    assert not (folder / "run_0").exists()  # no baseline in this workspace yet


def test_an_idea_finds_the_template_folder_it_was_made_from_when_run_from_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = make_toy_template(tmp_path / "mine" / "toy").resolve()
    folder = save_toy_idea(tmp_path / "ws", "toy", "sweep-1", template_dir=str(template))
    monkeypatch.chdir(tmp_path / "ws")  # a worker's folder, where no template is named toy
    assert prepare(folder, tmp_path / "ws") == template
    assert (folder / "experiment.py").is_file()
