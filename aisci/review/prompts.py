"""What the reviewer tells the model. Markers the tests match on: "Reflection round", "area chair".

The rubric is built from the form's scales (aisci.review.form) and the length limits from the very schema
the model's reply is checked against, so the prompt can never promise what the schema refuses.
"""

import json

from aisci.review.form import (
    CONFIDENCE_SCALE,
    OVERALL_SCALE,
    SUB_SCALE,
    SUB_SCORES,
    ReviewForm,
    scale_text,
)

SYSTEM = (
    "You are an experienced machine learning researcher reviewing a submission to a top venue such as "
    "NeurIPS, ICML or ICLR. Judge the paper only by what it shows. Be concrete: point to the sections, "
    "equations, tables or figures your comments are about. Most submissions are rejected; when the evidence "
    "does not convince you, say why and score accordingly."
)

AREA_CHAIR = (
    "You are the area chair for a machine learning venue. You weigh the reviewers' arguments rather than "
    "counting votes, and you write a meta-review that a program committee can act on."
)


def length_limits(schema: dict) -> list[str]:
    """The length limits on a schema's top-level fields, fields with the same limit named together."""
    rules: dict[str, list[str]] = {}
    for name, field in schema.get("properties", {}).items():
        if "maxLength" in field:
            rules.setdefault(f"at most {field['maxLength']} characters", []).append(name)
        if "maxItems" in field:
            each = field.get("items", {}).get("maxLength")
            rule = f"at most {field['maxItems']} points" + (
                f" of at most {each} characters each" if each else ""
            )
            rules.setdefault(rule, []).append(name)
    return [f"{', '.join(names)}: {rule}" for rule, names in rules.items()]


def form_guide(schema: dict) -> str:
    """How to fill in the form whose JSON schema is `schema`."""
    return (
        f"Fill in the review form. Sub-scores ({', '.join(SUB_SCORES)}) use {scale_text(SUB_SCALE)}. "
        f"Overall uses {scale_text(OVERALL_SCALE)}. Confidence uses {scale_text(CONFIDENCE_SCALE)}. "
        "Keep the decision consistent with the Overall score. Length limits, which a longer reply "
        f"breaks: {'; '.join(length_limits(schema))}."
    )


def paper_message(text: str, guide: str) -> str:
    return f"Review the following paper.\n\n{guide}\n\n<paper>\n{text}\n</paper>"


def review_messages(text: str, examples: list[tuple[str, ReviewForm]], guide: str) -> list[dict[str, str]]:
    """System prompt, the user's example (paper, review) pairs as earlier turns, then the paper."""
    messages = [{"role": "system", "content": SYSTEM}]
    for example_text, form in examples:
        messages.append({"role": "user", "content": paper_message(example_text, guide)})
        messages.append({"role": "assistant", "content": form.model_dump_json()})
    messages.append({"role": "user", "content": paper_message(text, guide)})
    return messages


def reflection_message(round_: int, rounds: int, schema: dict) -> str:
    """The request for reflection round `round_`; `schema` is the reflection reply's."""
    return (
        f"Reflection round {round_} of {rounds}. Re-read the paper and your review. Check that every "
        "score agrees with the strengths and weaknesses you wrote, that each criticism is about "
        "something the paper really says, and that nothing important is missing. Write what needs "
        "fixing in `thought`, give the complete revised review in `review`, and set `done` to true "
        f"only if the review needed no change. Length limits: {'; '.join(length_limits(schema))}; the "
        "review keeps those of the form."
    )


def meta_review_messages(forms: list[ReviewForm], guide: str) -> list[dict[str, str]]:
    reviews = "\n\n".join(
        f"Review {i}:\n{json.dumps(form.model_dump(), indent=1)}" for i, form in enumerate(forms, 1)
    )
    return [
        {"role": "system", "content": AREA_CHAIR},
        {
            "role": "user",
            "content": f"As the area chair, write the meta-review of a paper from its {len(forms)} reviews. "
            f"Summarise the consensus, keep the strengths and weaknesses that matter for the decision, and "
            f"fill in the same form.\n\n{guide}\n\n{reviews}",
        },
    ]
