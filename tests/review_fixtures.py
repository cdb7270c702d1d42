"""Scripted review replies shared by the reviewer tests."""

import json

from aisci.review.form import SCORES


def form(overall: int, decision: str = "Accept", **fields) -> dict:
    """A valid review form; keyword arguments override any field."""
    return {
        "summary": f"A review giving {overall}.",
        "strengths": ["clear experiments"],
        "weaknesses": ["small datasets"],
        "questions": [],
        "limitations": ["toy data only"],
        "ethical_concerns": False,
        **dict.fromkeys(SCORES, 3),
        "overall": overall,
        "confidence": 4,
        "decision": decision,
        **fields,
    }


def reply(overall: int, **fields) -> str:
    return json.dumps(form(overall, **fields))


def reflection(overall: int, done: bool) -> str:
    return json.dumps({"thought": "checked the scores", "review": form(overall), "done": done})
