"""What the reviewer tells the model. Markers the tests match on: "Reflection round", "area chair"."""

import json

from aisci.review.form import ReviewForm

SYSTEM = (
    "You are an experienced machine learning researcher reviewing a submission to a top venue such as "
    "NeurIPS, ICML or ICLR. Judge the paper only by what it shows. Be concrete: point to the sections, "
    "equations, tables or figures your comments are about. Most submissions are rejected; when the evidence "
    "does not convince you, say why and score accordingly."
)

FORM_GUIDE = (
    "Fill in the review form. Sub-scores (originality, quality, clarity, significance, soundness, "
    "presentation, contribution) use 1 = poor, 2 = fair, 3 = good, 4 = excellent. Overall uses 1-10: "
    "3 reject, 4 borderline-leaning reject, 5 borderline reject, 6 borderline accept, 7 accept, "
    "8 strong accept, 10 award quality. Confidence uses 1-5: 1 educated guess, 3 fairly confident, "
    "5 certain. Keep the decision consistent with the Overall score."
)

AREA_CHAIR = (
    "You are the area chair for a machine learning venue. You weigh the reviewers' arguments rather than "
    "counting votes, and you write a meta-review that a program committee can act on."
)


def paper_message(text: str) -> str:
    return f"Review the following paper.\n\n{FORM_GUIDE}\n\n<paper>\n{text}\n</paper>"


def review_messages(text: str, examples: list[tuple[str, ReviewForm]]) -> list[dict[str, str]]:
    """System prompt, the user's example (paper, review) pairs as earlier turns, then the paper."""
    messages = [{"role": "system", "content": SYSTEM}]
    for example_text, form in examples:
        messages.append({"role": "user", "content": paper_message(example_text)})
        messages.append({"role": "assistant", "content": form.model_dump_json()})
    messages.append({"role": "user", "content": paper_message(text)})
    return messages


def reflection_message(round_: int, rounds: int) -> str:
    return (
        f"Reflection round {round_} of {rounds}. Re-read the paper and your review. Check that every "
        "score agrees with the strengths and weaknesses you wrote, that each criticism is about "
        "something the paper really says, and that nothing important is missing. Write what needs "
        "fixing in `thought`, give the complete revised review in `review`, and set `done` to true "
        "only if the review needed no change."
    )


def meta_review_messages(forms: list[ReviewForm]) -> list[dict[str, str]]:
    reviews = "\n\n".join(
        f"Review {i}:\n{json.dumps(form.model_dump(), indent=1)}" for i, form in enumerate(forms, 1)
    )
    return [
        {"role": "system", "content": AREA_CHAIR},
        {
            "role": "user",
            "content": f"As the area chair, write the meta-review of a paper from its {len(forms)} reviews. "
            f"Summarise the consensus, keep the strengths and weaknesses that matter for the decision, and "
            f"fill in the same form.\n\n{FORM_GUIDE}\n\n{reviews}",
        },
    ]
