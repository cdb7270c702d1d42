"""Declared template parameters: template.json's `parameters`, the contract check, and the ideation prompt."""

import json

from test_templates_check import OURS, V1_EXPERIMENT, write_v1_template

from aisci.experiment.params import step_schema
from aisci.ideation.template import load_template
from aisci.templates import TemplateSpec, check, load_spec, resolve, settings_label

LR = {"type": "float", "min": 1e-4, "max": 1.0, "default": 0.1, "description": "the step size"}
PARAMS_EXPERIMENT = V1_EXPERIMENT.replace(
    'default="run_0")', 'default="run_0")\nparser.add_argument("--params")'
)


def test_our_templates_declare_parameters_the_check_accepts():
    for name in OURS:
        spec = load_spec(resolve(name))
        assert {"lr"} <= set(spec.parameters) and len(spec.parameters) >= 7, name
        assert all(p.description for p in spec.parameters.values()), name
        assert check(resolve(name)) == [], name
    beta = load_spec(resolve("2d_diffusion")).parameters["beta_schedule"]
    assert beta.choices == ["linear", "quadratic"] and beta.default == "linear"


def test_a_docstring_mention_of_out_dir_is_not_an_option(tmp_path):
    folder = write_v1_template(tmp_path / "t")
    (folder / "experiment.py").write_text('"""Run as python experiment.py --out_dir=run_0."""\nprint("hi")\n')
    assert "experiment.py: takes no --out_dir option" in check(folder)[0]


def test_an_option_defined_in_a_module_beside_experiment_py_counts(tmp_path):
    # the shape of v1's tensorf: experiment.py imports its parser from opt.py
    folder = write_v1_template(tmp_path / "t")
    (folder / "experiment.py").write_text("from opt import config_parser\nargs = config_parser()\n")
    (folder / "opt.py").write_text(
        "import configargparse\n\ndef config_parser():\n    parser = configargparse.ArgumentParser()\n"
        '    parser.add_argument("--out_dir", type=str)\n    return parser.parse_args()\n'
    )
    assert check(folder) == []


def test_declared_parameters_need_a_params_option_and_a_sound_declaration(tmp_path):
    folder = write_v1_template(tmp_path / "t")
    (folder / "template.json").write_text(json.dumps({"parameters": {"lr": LR}}))
    assert check(folder) == [
        "experiment.py: takes no --params option, though template.json declares parameters"
        " (a run sets them as experiment.py --out_dir=run_i --params=params.json)"
    ]
    (folder / "experiment.py").write_text(PARAMS_EXPERIMENT)
    assert check(folder) == []
    broken = {
        "lr": {**LR, "default": 3.0},
        "schedule": {"type": "str", "default": "linear"},
    }
    expected = {
        "lr": "the default 3.0 is outside [0.0001, 1]",
        "schedule": "a str parameter needs choices",
    }
    for name, spec in broken.items():
        (folder / "template.json").write_text(json.dumps({"parameters": {name: spec}}))
        (problem,) = check(folder)
        assert problem.startswith(f"template.json: parameters.{name}: ") and expected[name] in problem


def test_settings_are_checked_against_their_ranges_and_the_schema_bounds_them():
    spec = TemplateSpec.model_validate(
        {"parameters": {"lr": LR, "mode": {"type": "str", "choices": ["a", "b"], "default": "a"}}}
    )
    assert spec.parameter_problems({"lr": 0.01, "mode": "b"}) == []
    assert spec.parameter_problems({"lr": 3, "mode": "c", "depth": 2}) == [
        '"lr": 3 is outside [0.0001, 1]',
        "\"mode\": 'c' is not one of a, b",
        '"depth" is not a declared parameter',
    ]
    assert settings_label({"lr": 0.001, "mode": "b"}) == "lr=0.001, mode=b"

    base = {"properties": {"action": {"enum": ["run", "done"]}, "edits": {}, "label": {}, "params": {}}}
    only = step_schema(base, spec, edits=False, done=False)
    assert set(only["properties"]) == {"action", "params"} and only["required"] == ["action", "params"]
    assert only["properties"]["action"]["enum"] == ["run"]
    params = only["properties"]["params"]
    assert params["minItems"] == 1 and params["maxItems"] == 2
    lr = params["items"]["anyOf"][0]["properties"]
    assert lr == {
        "name": {"type": "string", "enum": ["lr"]},
        "value": {"type": "number", "minimum": 1e-4, "maximum": 1.0},
    }
    both = step_schema(base, spec, edits=True, done=True)
    assert {"edits", "label", "params"} <= set(both["properties"]) and both["properties"]["params"][
        "minItems"
    ] == 0
    assert "params" not in step_schema(base, TemplateSpec(), edits=True, done=True)["properties"]


def test_the_ideation_prompt_shows_the_declared_parameters():
    from aisci.ideation.prompts import generation_request

    template = load_template("2d_diffusion")
    assert '- beta_schedule: one of linear, quadratic, default "linear"' in template.parameters
    request = generation_request(template.task_description, "code", "", [], 1, 1, None, template.parameters)
    assert "parameter study" in request and "- lr: float in [1e-05, 0.01], default 0.0003: AdamW" in request


def test_the_embedded_model_may_set_a_bounded_float_only_to_a_value_within_its_bounds():
    """Its grammar bounds integers, not numbers: a float parameter reaches it as a choice of values."""
    from aisci.experiment.runs import RunStep
    from aisci.llm import local, structured

    spec = load_spec(resolve("2d_diffusion"))
    schema = local.reply_schema(step_schema(RunStep.model_json_schema(), spec, edits=False, done=False), 2048)
    values = {
        option["properties"]["name"]["enum"][0]: option["properties"]["value"]
        for option in schema["properties"]["params"]["items"]["anyOf"]
    }
    lr = spec.parameters["lr"]
    assert values["lr"]["enum"] == [1e-05, 3.2e-05, 0.0001, 0.00032, 0.001, 0.0032, 0.01]
    assert all(lr.problem(value) is None for value in values["lr"]["enum"])
    assert "enum" not in values["train_steps"]  # an integer's bounds the grammar keeps
    reply = {"action": "run", "params": [{"name": "lr", "value": 0.00032}]}
    assert structured.parse(json.dumps(reply), schema) == reply
