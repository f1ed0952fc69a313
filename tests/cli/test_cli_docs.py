"""`docs/cli.md` documents every flag and every config key, and its examples are valid."""

import argparse
import pathlib
import re
import tomllib

from brainsim.cli import SCHEMA, load_config, parser, reference_markdown
from brainsim.cli.schema import NEURON_MODELS, neuron_parameters

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "cli.md").read_text()


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, re.S)


def test_reference_section_is_the_rendered_schema():
    section = re.search(
        r"<!-- schema reference: start -->\n\n(.*)\n<!-- schema reference: end -->", DOC, re.S
    )
    assert section, "docs/cli.md lost its schema reference markers"
    assert section.group(1) == reference_markdown(), (
        "docs/cli.md is out of date: paste the output of "
        '`python -c "from brainsim.cli import reference_markdown as r; print(r())"` between the markers'
    )


def test_every_table_key_and_neuron_parameter_is_documented():
    for table in SCHEMA:
        assert f"### `{table.header}`" in DOC
        for key in table.keys:
            assert f"| `{key.name}` |" in DOC, f"{table.name}.{key.name}"
    for model in NEURON_MODELS:
        for name in neuron_parameters(model):
            assert f"`{name}` = " in DOC, f"{model}.{name}"


def test_every_flag_of_every_command_is_documented():
    commands = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in commands.choices.items():
        assert f"## `brainsim {name}`" in DOC
        for action in command._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert f"`{flag}" in DOC, f"brainsim {name} {flag}"


def test_toml_examples_are_valid_configs(tmp_path):
    blocks = _blocks("toml")
    assert len(blocks) == 3
    for index, block in enumerate(blocks):
        path = tmp_path / f"example{index}.toml"
        path.write_text(block)
        load_config(path)  # raises ConfigError if the example is wrong
    shipped = tomllib.loads((ROOT / "configs" / "readme_network.toml").read_text())
    (readme,) = [b for b in blocks if "[[populations]]" in b]
    assert tomllib.loads(readme) == shipped  # the page shows the shipped file
    study = tomllib.loads((ROOT / "configs" / "coba_sweep.toml").read_text())
    (shown,) = [tomllib.loads(b) for b in blocks if "[sweep]" in b]
    assert shown["sweep"]["parameters"] == study["sweep"]["parameters"]  # the shipped grid
    assert shown["sweep"]["metrics"] == study["sweep"]["metrics"]


def test_python_example_runs():
    (block,) = _blocks("python")
    exec(compile(block, "docs/cli.md", "exec"), {})
