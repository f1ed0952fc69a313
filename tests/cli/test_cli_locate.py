"""`brainsim.cli.locate.key_lines`: the line of every key, read back from the TOML text."""

import pathlib
import re
import tomllib

import pytest

from brainsim.cli.locate import key_lines

ROOT = pathlib.Path(__file__).resolve().parents[2]

TRICKY = '''\
# a comment with [brackets] and key = value
title = "x = [not a table]"   # 2
[simulation]                  # 3
duration = 50.0               # 4
"quoted key" = 'single [quoted]'   # 5
dotted.inner = 1              # 6
text = """
multi-line = string
[not.a.table]
"""                           # 7-10
after_text = 2                # 11

[[populations]]               # 13
name = "a"                    # 14
parameters = { t_ref = 1.0, v_reset = -60.0 }   # 15

[populations.extra]           # 17
depth = 3                     # 18

[[populations]]               # 20
name = "b"                    # 21
values = [                    # 22
  1.0,  # ] a bracket in a comment
  "],[",
]                             # 25
tables = [{ a = 1 },
  { a = 2, b = 3 }]           # 27
when = 1979-05-27 07:32:00Z   # 28
'''


def test_lines_of_a_tricky_document():
    assert tomllib.loads(TRICKY)  # valid TOML: the reader relies on it
    lines = key_lines(TRICKY)
    expected = {
        ("title",): 2,
        ("simulation",): 3,
        ("simulation", "duration"): 4,
        ("simulation", "quoted key"): 5,
        ("simulation", "dotted"): 6,
        ("simulation", "dotted", "inner"): 6,
        ("simulation", "text"): 7,
        ("simulation", "after_text"): 11,
        ("populations", 0): 13,
        ("populations", 0, "name"): 14,
        ("populations", 0, "parameters", "t_ref"): 15,
        ("populations", 0, "parameters", "v_reset"): 15,
        ("populations", 0, "extra"): 17,
        ("populations", 0, "extra", "depth"): 18,
        ("populations", 1): 20,
        ("populations", 1, "name"): 21,
        ("populations", 1, "values"): 22,
        ("populations", 1, "tables", 0, "a"): 26,
        ("populations", 1, "tables", 1, "a"): 27,
        ("populations", 1, "tables", 1, "b"): 27,
        ("populations", 1, "when"): 28,
    }
    assert {path: lines.get(path) for path in expected} == expected
    assert not any(path[-1] in ("multi-line", "not") for path in lines)  # nothing read inside strings
    assert ("not", "a", "table") not in lines


def _leaf_paths(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaf_paths(item, path + (key,))
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for index, item in enumerate(value):
            yield from _leaf_paths(item, path + (index,))
    else:
        yield path


@pytest.mark.parametrize("config", sorted((ROOT / "configs").glob("*.toml")), ids=lambda p: p.name)
def test_every_key_of_the_shipped_configs_is_found_on_its_line(config):
    text = config.read_text()
    lines = key_lines(text)
    source = text.splitlines()
    paths = list(_leaf_paths(tomllib.loads(text)))
    assert len(paths) > 10
    for path in paths:
        line = source[lines[path] - 1]
        assert line.split("#")[0].strip(), path
        key = path[-1] if re.fullmatch(r"[\w-]+", path[-1]) else f'"{path[-1]}"'  # quoted: "a.b" = ...
        assert f"{key} =" in line or f"{key}=" in line, (path, line)
