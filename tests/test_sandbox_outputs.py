"""Host-side reads of an experiment's output folder: nothing planted there can hurt or hang the host."""

import json
import os
from pathlib import Path

import pytest

from aisci.errors import FinalInfoError
from aisci.sandbox import read_final_info, read_output_file
from aisci.sandbox.result import Tail


def write(out: Path, data: object) -> None:
    out.mkdir(exist_ok=True)
    (out / "final_info.json").write_text(json.dumps(data))


def test_v1_template_results_are_accepted(tmp_path: Path) -> None:
    data = {"shakespeare_char": {"means": {"final_train_loss_mean": 0.8, "iters": 5000}, "stderrs": {}}}
    write(tmp_path / "run_1", data)
    assert read_final_info(tmp_path / "run_1") == data


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ([], "non-empty object"),
        ({"g": {"loss": 1.0}}, '"means"'),
        ({"g": {"means": {"loss": "low"}}}, "non-numeric means for loss"),
        ({"g": {"means": {"ok": True}}}, "non-numeric"),
    ],
)
def test_results_outside_the_contract_are_clear_errors(tmp_path: Path, data: object, match: str) -> None:
    write(tmp_path / "run_1", data)
    with pytest.raises(FinalInfoError, match=match):
        read_final_info(tmp_path / "run_1")


def test_missing_results_say_so(tmp_path: Path) -> None:
    (tmp_path / "run_1").mkdir()
    with pytest.raises(FinalInfoError, match="wrote no final_info.json"):
        read_final_info(tmp_path / "run_1")


def test_a_fifo_does_not_block_the_reader(tmp_path: Path) -> None:
    out = tmp_path / "run_1"
    out.mkdir()
    os.mkfifo(out / "final_info.json")
    with pytest.raises(FinalInfoError, match="not a regular file"):
        read_final_info(out)


def test_oversize_files_are_not_read(tmp_path: Path) -> None:
    out = tmp_path / "run_1"
    out.mkdir()
    (out / "final_info.json").write_bytes(b" " * 2048)
    with pytest.raises(FinalInfoError, match="over the 1024-byte cap"):
        read_final_info(out, max_bytes=1024)


def test_only_plain_names_are_read(tmp_path: Path) -> None:
    with pytest.raises(FinalInfoError, match="plain file name"):
        read_output_file(tmp_path, "../secret", 100)


def test_tail_keeps_the_end_within_its_limit() -> None:
    tail = Tail(limit=10)
    for chunk in (b"a" * 25, b"0123456789", b"xyz"):
        tail.feed(chunk)
    assert tail.text() == "[... 28 earlier bytes dropped ...]\n3456789xyz"
