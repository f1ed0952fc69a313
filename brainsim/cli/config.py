"""Loading a config file: TOML syntax, `--set` overrides, the schema, and cross-references.

`load_config(path, overrides)` reads the file with `tomllib`, applies each override
(`"simulation.duration=50"`; an element of an array of tables is addressed by its `name` or
its index: `"populations.exc.n=80"`, `"projections.0.weight=2"`, and a projection also by
`pre->post`: `"projections.exc->inh.weight=2"`), validates everything against
`brainsim.cli.schema.SCHEMA`, checks the names that refer to each other (projection
`pre`/`post`, input `target`, `simulation.record`) and the `[sweep]` table (each of its values
set on the config is checked like the file), and returns a `Config`. Every problem is a
`ConfigError` that names the file, the key and its line (found by `brainsim.cli.locate`) or
the override that set it.
"""

import copy
import dataclasses
import pathlib
import tomllib
from collections.abc import Sequence

from ..run import check_time
from .locate import key_lines
from .schema import METRICS, ConfigError
from .validate import dotted, validate


@dataclasses.dataclass(frozen=True)
class Config:
    """A validated config.

    **Fields:**
    - `values`: `{table: dict}` and `{array_table: [dict, ...]}` with every default filled
      in (`values["network"]` is `None` unless the `[network]` shorthand is used).
    - `path`: the file it came from.
    - `lines`: key path -> line in the file (see `brainsim.cli.locate.key_lines`).
    - `overrides`: key path -> the override that set it (`"--set simulation.duration=50"`).
    - `source`: the parsed TOML with the overrides applied, before validation (what
      `with_assignments` starts from).
    """

    values: dict
    path: pathlib.Path
    lines: dict
    overrides: dict
    source: dict = dataclasses.field(default_factory=dict, repr=False)

    def where(self, path: tuple) -> str:
        return _where(path, self.lines, self.overrides)

    def error(self, path: tuple, message: str) -> ConfigError:
        """A `ConfigError` about the key at `path`: "file: `key` at line N: message"."""
        return ConfigError(f"{self.path}: `{dotted(path)}` {self.where(path)}: {message}")

    @property
    def population_names(self) -> list[str]:
        if self.values["network"] is not None:
            return ["E", "I"]
        return [p["name"] for p in self.values["populations"]]

    def with_assignments(self, assignments: Sequence[tuple[str, object, str]]) -> "Config":
        """This config with keys set to other values, validated like the file.

        **Arguments:**
        - `assignments`: `(key_path, value, label)` triples: `key_path` as for `--set`
          (`"network.w_inh"`, `"projections.0.weight"`), `value` as TOML gives it, `label` where
          the value came from, for messages (`"[sweep] `network.w_inh` = 40.0 at line 14"`).

        **Returns:** a new `Config`. Raises `ConfigError` naming the key and the label.
        """
        data = copy.deepcopy(self.source)
        applied = dict(self.overrides)
        seen: dict[tuple, str] = {}
        for key_path, value, label in assignments:
            concrete = _set(data, key_path.split("."), value, label, self.path)
            if concrete in seen:
                raise ConfigError(
                    f"{self.path}: {label}: sets `{dotted(concrete)}`, which {seen[concrete]} sets too."
                )
            seen[concrete] = applied[concrete] = label
        return _validated(data, self.path, self.lines, applied)


def load_config(path, overrides: Sequence[str | tuple[str, str]] = ()) -> Config:
    """Read, override and validate a config file.

    **Arguments:**
    - `path`: the TOML file.
    - `overrides`: assignments `"table.key=value"` (the value is read as TOML, else taken as a
      string), or `(assignment, label)` pairs where `label` says where it came from in
      messages (default `"--set <assignment>"`).

    **Returns:** a `Config`. Raises `ConfigError` for a missing file, a TOML syntax error
    (with tomllib's line and column), an unknown key, a wrong type, a value out of range, or
    a name that refers to nothing.
    """
    path = pathlib.Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the config file: {err.strerror or err}.") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: TOML syntax error: {err}.") from None
    lines = key_lines(text)
    _flatten_grid(data, lines, path)
    applied: dict[tuple, str] = {}
    for item in overrides:
        assignment, label = (item, f"--set {item}") if isinstance(item, str) else item
        applied[_apply_override(data, assignment, label, path)] = label
    _flatten_grid(data, lines, path)  # an override may set the whole grid as an inline table
    config = _validated(data, path, lines, applied)
    _check_sweep(config)
    return config


def _validated(data: dict, path: pathlib.Path, lines: dict, applied: dict) -> Config:
    def where(key_path: tuple) -> str:
        return _where(key_path, lines, applied)

    def error(message: str) -> ConfigError:
        return ConfigError(f"{path}: {message}")

    values = validate(data, where, error)
    config = Config(values, path, lines, applied, data)
    _check_references(config)
    return config


_GRID = ("sweep", "parameters")


def _flatten_grid(data: dict, lines: dict, path: pathlib.Path) -> None:
    """`[sweep.parameters]` written with bare dotted keys (`network.w_inh = [...]`, which TOML
    reads as nested tables) becomes one key per path (`"network.w_inh" = [...]`), as written
    with quotes; the lines follow."""
    grid = data.get("sweep", {}).get("parameters") if isinstance(data.get("sweep"), dict) else None
    if not isinstance(grid, dict) or not any(isinstance(v, dict) for v in grid.values()):
        return
    flat: dict = {}

    def walk(node: dict, parts: tuple) -> None:
        for name, value in node.items():
            if isinstance(value, dict):
                walk(value, parts + (name,))
                continue
            joined = ".".join(parts + (name,))
            if joined in flat:
                at = _where(_GRID + (joined,), lines, {})
                raise ConfigError(f"{path}: `sweep.parameters` gives the key path '{joined}' twice ({at}).")
            flat[joined] = value
            if len(parts) > 0:
                prefix = _GRID + parts + (name,)
                for key in [k for k in lines if k[: len(prefix)] == prefix]:
                    lines.setdefault(_GRID + (joined,) + key[len(prefix) :], lines[key])

    walk(grid, ())
    data["sweep"]["parameters"] = flat


def _where(path: tuple, lines: dict, overrides: dict) -> str:
    """`"at line N"` or `"in --set ..."` for a key given in the file or an override; for a key
    left at its default, the line of the nearest enclosing table that is in the file."""
    for end in range(len(path), 0, -1):
        if path[:end] in overrides:
            return f"in {overrides[path[:end]]}"
        if path[:end] in lines:
            line = lines[path[:end]]
            return f"at line {line}" if end == len(path) else f"(its default; its table is at line {line})"
    for key, label in overrides.items():  # a table that only an override created
        if key[: len(path)] == path:
            return f"in {label}"
    return "(its default)"


def _apply_override(data: dict, assignment: str, label: str, path: pathlib.Path) -> tuple:
    """Set `table.key=value` in `data`; return the concrete key path it set."""
    name, sep, raw = assignment.partition("=")
    parts = [p.strip() for p in name.split(".")]
    if not sep or not all(parts):
        raise ConfigError(f"{path}: {label}: expected `table.key=value` (e.g. `simulation.duration=50`).")
    try:
        value = tomllib.loads(f"value = {raw.strip()}")["value"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()  # a bare word: a string (`engine=generic`)
    if tuple(parts[:2]) == _GRID and len(parts) > 2:  # one grid entry: the rest is its key path
        parts = [*_GRID, ".".join(parts[2:])]
    return _set(data, parts, value, label, path)


def _set(data: dict, parts: list[str], value, label: str, path: pathlib.Path) -> tuple:
    """Set the key at `parts` (names; an element of an array of tables by its name or index)
    in `data` to `value`; return the concrete key path it set."""
    node, concrete = data, ()
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            index = element_index(node, part)
            if index is None:
                names = [_element_name(e, j) for j, e in enumerate(node) if isinstance(e, dict)]
                raise ConfigError(
                    f"{path}: {label}: `{dotted(concrete)}` has no element named or numbered '{part}'; "
                    f"it has {len(node)}: {', '.join(map(str, names))}."
                )
            if last:
                raise ConfigError(
                    f"{path}: {label}: name a key of `{dotted(concrete + (index,))}`, not the table."
                )
            node, concrete = node[index], concrete + (index,)
            continue
        if not isinstance(node, dict):
            raise ConfigError(f"{path}: {label}: `{dotted(concrete)}` is a value, not a table.")
        concrete = concrete + (part,)
        if last:
            node[part] = value
        else:
            node = node.setdefault(part, {})
    return concrete


def element_index(elements: list, part: str) -> int | None:
    """The index of the element of an array of tables named `part` (its `name`, or for a
    projection without one `pre->post`), or `part` as an index."""
    for index, element in enumerate(elements):
        if isinstance(element, dict) and element.get("name") == part:
            return index
    for index, element in enumerate(elements):
        if isinstance(element, dict) and "name" not in element and "pre" in element:
            if f"{element.get('pre')}->{element.get('post')}" == part:
                return index
    if part.isdigit() and int(part) < len(elements):
        return int(part)
    return None


def _element_name(element: dict, index: int) -> str:
    if element.get("name"):
        return str(element["name"])
    if "pre" in element:
        return f"{element['pre']}->{element.get('post')}"
    return str(index)


def _check_references(config: Config) -> None:
    """Names that refer to each other, and times that must be multiples of `dt`."""
    values = config.values
    tables = ("populations", "projections", "inputs")
    if values["network"] is not None:
        given = [t for t in tables if values[t]]
        if given:
            raise config.error(
                ("network",),
                f"the `[network]` shorthand builds a whole model; remove it or the "
                f"{', '.join(f'[[{t}]]' for t in given)} tables.",
            )
    elif not values["populations"]:
        raise ConfigError(
            f'{config.path}: no network: give `[network]` with `model = "coba"` (or `cuba`, '
            "`cobahh`), or at least one `[[populations]]` table."
        )
    seen: dict[str, int] = {}
    for i, pop in enumerate(values["populations"]):
        if pop["name"] in seen:
            raise config.error(
                ("populations", i, "name"),
                f"population name '{pop['name']}' is already used by populations[{seen[pop['name']]}].",
            )
        seen[pop["name"]] = i
    known = config.population_names

    def require_population(path: tuple, name: str) -> None:
        if name not in known:
            raise config.error(path, f"unknown population '{name}'; known: {', '.join(known)}.")

    names: dict[str, int] = {}
    for i, proj in enumerate(values["projections"]):
        require_population(("projections", i, "pre"), proj["pre"])
        require_population(("projections", i, "post"), proj["post"])
        name = proj["name"] or f"{proj['pre']}->{proj['post']}"
        if name in names:
            raise config.error(
                ("projections", i),
                f"projection name '{name}' is already used by projections[{names[name]}]; give one "
                "of them a distinct `name`.",
            )
        names[name] = i
    for i, inp in enumerate(values["inputs"]):
        require_population(("inputs", i, "target"), inp["target"])
    for name in values["simulation"]["record"] or ():
        require_population(("simulation", "record"), name)
    dt = values["simulation"]["dt"]
    try:
        check_time(values["simulation"]["duration"], dt)
    except ValueError as err:
        raise config.error(("simulation", "duration"), str(err)) from None
    for i, proj in enumerate(values["projections"]):
        if proj["delay"] is not None:
            steps = proj["delay"] / dt
            if abs(steps - round(steps)) > 1e-6 * max(1.0, steps) or round(steps) < 1:
                raise config.error(
                    ("projections", i, "delay"),
                    f"must be a positive multiple of `simulation.dt` = {dt:g} ms; got {proj['delay']:g} ms "
                    f"({steps:g} steps).",
                )


def _check_sweep(config: Config) -> None:
    """The `[sweep]` table: every value of every key path, set alone on the config, passes the
    schema and the references; the first point sets each key once; the metrics exist."""
    spec = config.values.get("sweep")
    if spec is None:
        return
    first = []
    for name, values in spec["parameters"].items():
        for i, value in enumerate(values):
            label = sweep_label(config, name, i, value)
            config.with_assignments([(name, value, label)])
            if i == 0:
                first.append((name, value, label))
    config.with_assignments(first)  # two paths that name the same key
    metrics = spec["metrics"]
    names = config.population_names
    at = ("sweep", "metrics")
    if not metrics:
        raise config.error(at, 'give at least one metric, e.g. `metrics = ["rate"]`.')
    for metric in metrics:
        kind, _, population = metric.partition("_")
        if kind not in METRICS or (population and population not in names):
            allowed = ", ".join(METRICS)
            per_population = ", ".join(f"{m}_<population>" for m in METRICS)
            raise config.error(
                at,
                f"unknown metric '{metric}'; allowed: {allowed} (all neurons) or {per_population}, "
                f"with <population> one of {', '.join(names)}.",
            )
    if len(set(metrics)) < len(metrics):
        twice = next(m for i, m in enumerate(metrics) if m in metrics[:i])
        raise config.error(at, f"metric '{twice}' is given twice.")
    duration, width = config.values["simulation"]["duration"], spec["synchrony_bin"]
    if any(m.partition("_")[0] == "synchrony" for m in metrics) and duration < 2 * width * (1 - 1e-9):
        raise config.error(
            ("sweep", "synchrony_bin"),
            f"the `synchrony` metrics need at least 2 bins: `simulation.duration` = {duration:g} ms "
            f"holds {duration / width:.3g} bins of {width:g} ms; make the bins shorter.",
        )


def sweep_label(config: Config, name: str, index: int, value) -> str:
    """Where value `index` of key path `name` of `[sweep] parameters` came from, for messages:
    "[sweep] `network.w_inh` = 40.0 at line 14"."""
    return f"[sweep] `{name}` = {value!r} {config.where(_GRID + (name, index))}"
