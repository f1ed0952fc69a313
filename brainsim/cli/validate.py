"""Checking a parsed config against `brainsim.cli.schema.SCHEMA`: types, ranges, choices,
conditions, unknown and missing keys; defaults filled in."""

import math
import re
from collections.abc import Callable

from .schema import (
    REQUIRED,
    SCHEMA,
    SWEEPABLE,
    ConfigError,
    Key,
    Table,
    neuron_parameters,
    range_text,
)

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def dotted(path: tuple) -> str:
    """`("projections", 1, "weight")` -> `"projections[1].weight"`; a key that is no bare TOML
    key is quoted: `("sweep", "parameters", "network.w_inh")` -> `sweep.parameters."network.w_inh"`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        name = part if _BARE.fullmatch(part) else f'"{part}"'
        text += f".{name}" if text else name
    return text


def validate(data: dict, where: Callable[[tuple], str], error: Callable[[str], ConfigError]) -> dict:
    """Check parsed TOML `data` against `SCHEMA`; return it with every default filled in.

    **Arguments:**
    - `data`: what `tomllib` returned, with overrides applied.
    - `where`: path -> `"at line N"` or `"in --set ..."`, for the messages.
    - `error`: message -> the `ConfigError` to raise (it adds the file name).

    **Returns:** `{table: dict}` for plain tables (`None` for an absent optional table) and
    `{table: [dict, ...]}` for arrays of tables.
    """
    tables = {t.name: t for t in SCHEMA}
    for name, value in data.items():
        if name not in tables:
            what = "table" if isinstance(value, dict | list) else "key"
            allowed = ", ".join(t.header for t in SCHEMA)
            raise error(f"unknown {what} '{name}' at the top level {where((name,))}; allowed: {allowed}.")
    out = {}
    for table in SCHEMA:
        value = data.get(table.name)
        path = (table.name,)
        if table.array:
            if value is None:
                out[table.name] = []
                continue
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise error(
                    f"`{table.name}` {where(path)} must be an array of tables: start each one with "
                    f"{table.header}; got {_describe(value)}."
                )
            out[table.name] = [_table(table, v, path + (i,), where, error) for i, v in enumerate(value)]
        else:
            if value is None:
                out[table.name] = None if table.optional else _table(table, {}, path, where, error)
                continue
            if not isinstance(value, dict):
                raise error(
                    f"`{table.name}` {where(path)} must be a table {table.header}; got {_describe(value)}."
                )
            out[table.name] = _table(table, value, path, where, error)
    return out


def _table(table: Table, data: dict, path: tuple, where, error) -> dict:
    keys = {k.name: k for k in table.keys}
    label = table.header if dotted(path) == table.name else f"{table.header} ({dotted(path)})"
    for name in data:
        if name not in keys:
            raise error(
                f"unknown key '{name}' in {label} {where(path + (name,))}; allowed: {', '.join(keys)}."
            )
    out: dict = {}
    for key in table.keys:
        applies = all(out.get(other) in values for other, values in key.when)
        given = key.name in data
        if not applies:
            if given:
                conditions = " and ".join(f"`{other}` is {_either(values)}" for other, values in key.when)
                current = ", ".join(f"{other} = {out.get(other)!r}" for other, _ in key.when)
                raise error(
                    f"`{dotted(path + (key.name,))}` {where(path + (key.name,))} applies only when "
                    f"{conditions}; here {current}. Remove it."
                )
            continue
        if not given:
            if key.default is REQUIRED:
                raise error(f"missing key '{key.name}' in {label} {where(path)}: {key.doc}.")
            out[key.name] = _copy(key.default)
            continue
        out[key.name] = _value(key, data[key.name], path + (key.name,), out, where, error)
    return out


def _value(key: Key, value, path: tuple, siblings: dict, where, error):
    """`value` converted to the key's type, or a `ConfigError` naming the key and the range."""
    name, at = f"`{dotted(path)}`", where(path)
    if key.kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            unit = f" ({key.unit})" if key.unit else ""
            raise error(f"{name} {at} must be a number{_range_suffix(key)}{unit}; got {_describe(value)}.")
        value = float(value)
        _check_range(key, value, name, at, error)
        return value
    if key.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise error(f"{name} {at} must be an integer{_range_suffix(key)}; got {_describe(value)}.")
        _check_range(key, value, name, at, error)
        return value
    if key.kind == "bool":
        if not isinstance(value, bool):
            raise error(f"{name} {at} must be true or false; got {_describe(value)}.")
        return value
    if key.kind == "str":
        if not isinstance(value, str):
            raise error(f"{name} {at} must be a string; got {_describe(value)}.")
        if key.choices and value not in key.choices:
            raise error(f"{name} {at} must be one of {_listing(key.choices)}; got {value!r}.")
        if not value:
            raise error(f"{name} {at} must not be empty.")
        return value
    if key.kind == "strings":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise error(f"{name} {at} must be an array of strings; got {_describe(value)}.")
        for v in value:
            if key.choices and v not in key.choices:
                raise error(f"{name} {at} may contain {_listing(key.choices)}; got {v!r}.")
        return list(value)
    if key.kind == "parameters":
        model = siblings[key.parameters_of]
        allowed = neuron_parameters(model)
        if not isinstance(value, dict):
            raise error(f"{name} {at} must be a table of numbers; got {_describe(value)}.")
        for p, v in value.items():
            if p not in allowed:
                raise error(
                    f"unknown key '{p}' in [{path[0]}.{path[-1]}] ({dotted(path)}, neuron model "
                    f"{model}) {where(path + (p,))}; allowed: {', '.join(allowed)}."
                )
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise error(
                    f"`{dotted(path + (p,))}` {where(path + (p,))} must be a number; got {_describe(v)}."
                )
        return {p: float(v) for p, v in value.items()}
    if key.kind == "grid":
        return _grid(value, path, where, error)
    raise AssertionError(f"schema key `{key.name}` has unknown kind {key.kind!r}")


def _grid(value, path: tuple, where, error) -> dict[str, list]:
    """A `[sweep] parameters` table: key paths of `SWEEPABLE` tables -> non-empty arrays of
    distinct scalars. (Whether each path names a key, and each value fits it, is checked by
    `brainsim.cli.config` on the whole config.)"""
    name, at = f"`{dotted(path)}`", where(path)
    if not isinstance(value, dict) or not value:
        example = '`"network.w_inh" = [20.0, 40.0]`'
        raise error(
            f"{name} {at} must be a table of key paths and arrays of values, e.g. {example}; "
            f"got {_describe(value)}."
        )
    out = {}
    for key_path, values in value.items():
        where_key = where(path + (key_path,))
        label = f"`{dotted(path + (key_path,))}` {where_key}"
        table = key_path.split(".")[0]
        if table not in SWEEPABLE and key_path not in SWEEPABLE:
            raise error(
                f"{label}: only keys that build the network can vary from point to point: keys of "
                f"[network], [[populations]], [[projections]], [[inputs]], and simulation.seed; "
                f"got '{key_path}' (set it once in its table instead)."
            )
        if not isinstance(values, list) or not values:
            raise error(f"{label} must be a non-empty array of values; got {_describe(values)}.")
        for v in values:
            if not isinstance(v, int | float | str | bool) or (isinstance(v, float) and math.isnan(v)):
                raise error(f"{label} must hold numbers, strings or booleans; got {_describe(v)}.")
        repeated = [v for i, v in enumerate(values) if any(_same(v, u) for u in values[:i])]
        if repeated:
            raise error(f"{label} gives {repeated[0]!r} twice; each value must appear once.")
        out[key_path] = list(values)
    return out


def _same(a, b) -> bool:
    """Equal as config values: `1` and `1.0` are the same number, `true` is no number."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def _check_range(key: Key, value, name: str, at: str, error) -> None:
    too_low = key.low is not None and (value <= key.low if key.low_open else value < key.low)
    too_high = key.high is not None and value > key.high
    if too_low or too_high or (isinstance(value, float) and math.isinf(value)):
        raise error(f"{name} {at} must be {range_text(key) or 'finite'}{_unit(key)}; got {value!r}.")


def _range_suffix(key: Key) -> str:
    text = range_text(key)
    return f" {text}" if text else ""


def _unit(key: Key) -> str:
    return f" {key.unit}" if key.unit else ""


def _either(values) -> str:
    quoted = [repr(v) for v in values]
    return quoted[0] if len(quoted) == 1 else f"one of {', '.join(quoted)}"


def _listing(values) -> str:
    return ", ".join(repr(v) for v in values)


def _describe(value) -> str:
    return f"{value!r} ({'a table' if isinstance(value, dict) else type(value).__name__})"


def _copy(value):
    return list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) else value
