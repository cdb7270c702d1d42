"""Reproduction: every completed run re-run from its snapshot, every metric compared with the original."""

from aisci.reproduce.compare import MetricCheck, compare
from aisci.reproduce.report import ReproductionReport, RunReproduction, read_report, reproduction_sentence
from aisci.reproduce.rerun import REPRODUCTIONS, reproduce

__all__ = [
    "REPRODUCTIONS",
    "MetricCheck",
    "ReproductionReport",
    "RunReproduction",
    "compare",
    "read_report",
    "reproduce",
    "reproduction_sentence",
]
