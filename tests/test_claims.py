"""The claim check: comparisons read by meaning (subject and reference), numbers accepted only when they
come from the results, a derivation of them within the rounding the writer saw, or the caller's known
numbers."""

import time

import pytest

from aisci.writeup.claims import check_claims
from aisci.writeup.results import Results, Run

METRICS = ("eval_loss", "kl_div", "accuracy", "train_time", "step_val_acc_99")
MEANS = {  # run -> group -> the metrics above
    0: {"circle": (0.4412, 0.3521, 0.912, 120.4, 180), "moons": (0.63416, 0.2010, 0.871, 98.0, 200)},
    1: {"circle": (0.4301, 0.2874, 0.931, 131.9, 150), "moons": (0.48604, 0.1902, 0.884, 104.5, 170)},
    2: {"circle": (0.4520, 0.3300, 0.905, 118.2, 210), "moons": (0.58406, 0.2200, 0.880, 97.1, 190)},
}
LABELS = {0: "linear schedule", 1: "cosine schedule", 2: "warmup"}


def make_results(means=MEANS, metrics=METRICS, labels=LABELS) -> Results:
    runs = [
        Run(
            index=index,
            label=labels[index],
            means={g: dict(zip(metrics, values, strict=True)) for g, values in groups.items()},
            stderrs={g: {"eval_loss": 0.0031, "kl_div": 2.1e-05} for g in groups},
        )
        for index, groups in means.items()
    ]
    return Results(
        runs=runs,
        directions={"eval_loss": -1, "kl_div": -1, "accuracy": 1, "train_time": -1, "step_val_acc_99": -1},
        timing=["train_time"],
    )


@pytest.fixture
def results() -> Results:
    return make_results()


def verdict(text: str, results: Results) -> str:
    """ "holds", "wrong" or "unchecked", for prose that quotes no decimal (only comparisons are counted)."""
    check = check_claims(text, results)
    if any(c.kind == "comparison" for c in check.mismatches):
        return "wrong"
    return "holds" if check.checked else "unchecked"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Compared with the baseline, run 1 has a lower loss.", "holds"),
        ("Compared with the baseline, run 1 has a lower eval loss.", "holds"),
        ("Run 1 lowers the eval loss.", "holds"),
        ("The baseline achieves a lower eval loss than Run 1.", "wrong"),
        ("Run 1 outperforms the baseline on eval loss.", "holds"),
        ("Run 1 is worse than the baseline in eval loss.", "wrong"),
        ("the baseline's eval loss is higher than Run 1's.", "holds"),
        ("Relative to Run~1, the baseline has a higher eval\\_loss.", "holds"),
        ("The eval loss is reduced by run 1.", "holds"),
        ("Run 1 reduces the eval loss of the baseline.", "holds"),
        ("Run 1 raised the eval loss.", "wrong"),
        ("Run 1 shows a clear improvement in eval loss over the baseline.", "holds"),
        ("The baseline underperforms Run 1 in accuracy.", "holds"),
        ("The cosine schedule reduces the eval loss.", "holds"),
        ("The warmup run improves the accuracy over the linear schedule.", "wrong"),
        ("Runs 1 and 2 both lower the moons eval loss.", "holds"),
        ("Run 2 has a lower eval loss than Run 1.", "wrong"),
        ("Run 1 achieves the best eval loss of all runs.", "holds"),
        ("The baseline has the highest accuracy.", "wrong"),
        ("Run 1 trains slower than the baseline in train time.", "holds"),
        ("Run 1 has a faster train time than the baseline.", "wrong"),
        ("Run 1 has a lower eval loss and a higher accuracy than the baseline.", "holds"),
        ("Run 1 lowers the eval loss but raises the train time.", "holds"),
        ("Run 1 lowers the eval loss but reduces the train time.", "wrong"),
        ("Relative to Run 2, Run 1 has higher accuracy and lower KL.", "holds"),
        ("The cosine schedule (Run~1) reaches a lower eval loss than the linear baseline.", "holds"),
        ("Run 2 lowers the eval loss on moons, while on circle it raises it.", "holds"),
        ("Run 2 lowers the eval loss on circle, while on moons it raises it.", "wrong"),
        ("Run 1 lowers the KL, but its accuracy is lower than with the baseline.", "wrong"),
        ("Run 2 uses a higher learning rate and reaches a lower eval loss on moons.", "holds"),
    ],
)
def test_comparisons_are_read_by_meaning(results, text, expected):
    assert verdict(text, results) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Run 1 does not reduce the eval loss.",  # negated
        "We expect the baseline to reach a lower eval loss than Run 1.",  # a hypothesis
        "Our method lowers the eval loss compared with prior work.",  # no run named
        "Run 1 and the baseline both have a higher eval loss.",  # no reference to tell
        "The baseline lowers the eval loss.",  # against what?
        "Run 1 converges faster than the baseline.",  # no timing metric named
        "Run 2 uses a higher learning rate than the baseline.",  # not a metric
        "Run 1 reports the eval loss and the accuracy (lower is better for the loss).",
    ],
)
def test_comparisons_whose_sides_cannot_be_told_are_left_alone(results, text):
    assert verdict(text, results) == "unchecked"


def test_each_comparative_has_its_own_subject(results):
    text = "Run 2 has a higher eval loss than the baseline on circle, and Run 1 {} it."
    check = check_claims(text.format("lowers"), results)
    assert check.checked == 2 and check.mismatches == []
    check = check_claims(text.format("raises"), results)
    assert check.checked == 2
    assert [c.problem for c in check.mismatches] == [
        "'raises' is wrong for circle/eval_loss (Run 1 0.4301, Baseline 0.4412): "
        "the opposite holds in the results"
    ]


def test_a_claim_true_in_one_group_only_is_reported_with_the_values(results):
    (claim,) = check_claims("Run 2 lowers the eval loss.", results).mismatches
    assert claim.problem == (
        "'lowers' is wrong for circle/eval_loss (Run 2 0.452, Baseline 0.4412): "
        "it holds only for moons/eval_loss"
    )
    assert verdict("Run 2 lowers the eval loss on moons.", results) == "holds"
    check = check_claims("Run 2 lowers the eval loss to 0.5841.", results)  # the number names the group
    assert check.checked == 2 and check.mismatches == []


def test_two_quoted_results_are_compared_when_no_run_is_named(results):
    assert check_claims("The KL drops from 0.3521 to 0.2874 on circle.", results).mismatches == []
    (claim,) = check_claims("The KL rises from 0.3521 to 0.2874 on circle.", results).mismatches
    assert claim.kind == "comparison" and "0.2874 against 0.3521" in claim.problem


@pytest.mark.parametrize(
    "text",
    [
        "Run 1 lowers the eval loss on moons by 0.1482.",  # 0.6342 - 0.4860 as shown; 0.1481 exactly
        "Run 1 lowers the circle eval loss from 0.4412 to 0.4301, by 0.0111.",
        "Run 2 changes the moons eval loss by $-7.9\\%$, by −7.9\\%, by 7.9\\,\\% relative to the baseline.",
        "The eval loss is $0.4301 \\pm 0.0031$ and the KL stderr is $2.1\\times10^{-5}$.",
        "Run 1 reaches 99\\% accuracy in fewer steps.",  # the 99 of step_val_acc_99
        "Accuracy rises to 93.1\\%, 1.9 percentage points above the baseline.",
        "Run 1 takes 1.1$\\times$ the baseline's train time.",
        "We train with a learning rate of 3e-4 and $\\beta=0.02$ (Section 4.2).",
    ],
)
def test_numbers_from_the_results_or_known_pass(results, text):
    check = check_claims(text, results, known={0.0003, -0.02})
    assert check.mismatches == [] and check.checked >= 1


def test_signed_known_numbers_are_accepted_either_way(results):
    text = "The facts give a change of −3.3\\%."
    assert check_claims(text, results, known={-3.3}).mismatches == []
    assert len(check_claims(text, results).mismatches) == 1


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("The cosine schedule reaches an eval loss of 0.3141.", "0.3141"),
        ("Run 1 lowers the eval loss by 0.0211.", "0.0211"),
        ("Run 1 lowers the eval loss on moons by 0.1486.", "0.1486"),  # beyond the rounding of 0.6342 - 0.486
        ("Run 1 lowers the eval loss by 25\\%.", "25%"),
        ("Run 1 is 3.5x faster.", "3.5×"),
        ("We train with a learning rate of 1e-3.", "1e-3"),
    ],
)
def test_made_up_numbers_are_rejected(results, text, shown):
    check = check_claims(text, results, known={0.0003})
    problems = [c.problem for c in check.mismatches if c.kind == "number"]
    assert len(problems) == 1 and problems[0].startswith(f"{shown} is not a result")


def test_a_paragraph_agreeing_with_the_data_passes(results):
    text = (
        "Run 1 lowers the kl\\_div from 0.3521 to 0.2874, an 18.4\\% reduction, and has a lower eval\\_loss "
        "than the baseline (0.4301 against 0.4412). We use a learning rate of 0.0003 with $\\beta=0.02$."
    )
    check = check_claims(text, results, known={0.0003, 0.02})
    assert check.mismatches == [] and check.checked >= 8


def test_false_numbers_and_wrong_directions_are_caught(results):
    text = (
        "Run 1 increases the kl\\_div on circle from 0.3521 to 0.2874. The cosine schedule reaches a KL "
        "of 0.1234. Run 1 improves eval\\_loss by 25\\%. "
        "Run 1 has a higher eval\\_loss than the baseline on circle."
    )
    problems = [(c.kind, c.problem) for c in check_claims(text, results).mismatches]
    assert problems == [
        (
            "comparison",
            "'increases' is wrong for circle/kl_div (Run 1 0.2874, Baseline 0.3521): "
            "the opposite holds in the results",
        ),
        ("number", "0.1234 is not a result, nor a difference, ratio or relative change between two results"),
        ("number", "25% is not a result, nor a difference, ratio or relative change between two results"),
        (
            "comparison",
            "'higher' is wrong for circle/eval_loss (Run 1 0.4301, Baseline 0.4412): "
            "the opposite holds in the results",
        ),
    ]


def test_a_long_section_against_many_metrics_is_checked_quickly():
    metrics = tuple(f"metric_{i}_loss" for i in range(100))
    groups = ("circle", "dino", "line", "moons")
    runs = [
        Run(
            index=run,
            label=f"variant {run}",
            means={
                g: {m: 0.1 + 0.01 * i + 0.003 * run + 0.001 * j for i, m in enumerate(metrics)}
                for j, g in enumerate(groups)
            },
            stderrs={g: dict.fromkeys(metrics, 0.001) for g in groups},
        )
        for run in range(4)
    ]
    big = Results(runs=runs, directions=dict.fromkeys(metrics, -1))
    sentence = (
        "Run 3 has a higher metric 7 loss than the baseline on dino (0.1900 against 0.1810), "
        "a difference of 0.009, and variant 2 lowers metric\\_42\\_loss by 3.2\\%. "
    )
    section = sentence * 20  # 40 sentences
    start = time.perf_counter()
    check = check_claims(section, big)
    elapsed = time.perf_counter() - start
    assert check.checked >= 40 and elapsed < 1.0
