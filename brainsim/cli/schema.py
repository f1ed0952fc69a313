"""The config file schema: every table and key with its type, range or choices, default and
meaning, as data (`SCHEMA`), and `validate`, which checks a parsed file against it.

A config describes a network the way it is drawn: `[[populations]]`, `[[projections]]` and
`[[inputs]]` (or the `[network]` shorthand for a ready model), then `[simulation]`, `[output]`
and `[hardware]`. `validate` fills in defaults and returns plain dicts; every mistake is a
`ConfigError` naming the key as `table.key` (`projections[1].weight` for the second
projection), where it is (`at line 12`, or the `--set` override that gave it) and what is
allowed. `reference_markdown()` renders the schema for `docs/cli.md`; regenerate that section
with `python -c "from brainsim.cli import reference_markdown as r; print(r())"`.
"""

import dataclasses
import math
from collections.abc import Callable

from .. import ALIF, LIF, AdEx, HodgkinHuxley, Izhikevich, hardware, models
from ..analysis.rates import KERNEL_SHAPES
from ..simulate import ENGINES


class ConfigError(ValueError):
    """A config file or override that does not fit the schema. The message names the file, the
    key (`table.key`), where it was given (a line or a `--set`) and what is allowed."""


class _Required:
    def __repr__(self) -> str:
        return "required"


REQUIRED = _Required()
"""Default of a key that must be given."""

NEURON_MODELS = {
    "LIF": LIF,
    "ALIF": ALIF,
    "AdEx": AdEx,
    "Izhikevich": Izhikevich,
    "HodgkinHuxley": HodgkinHuxley,
}
"""`neuron =` names of `[[populations]]` and the brainsim models they build."""

NETWORK_MODELS = {"coba": models.COBANetwork, "cuba": models.CUBANetwork, "cobahh": models.COBAHHNetwork}
"""`model =` names of the `[network]` shorthand and the functions that build them."""

CHIPS = tuple(name for name in hardware.PRESETS if name != "generic_mesh")
"""Chip presets `brainsim map` accepts (`bs.hardware.chip_preset` names)."""

CONNECTIVITY = ("FixedProbability", "FixedInDegree", "FixedOutDegree", "AllToAll", "OneToOne")
SYNAPSES = ("ExponentialSynapse", "AlphaSynapse", "DualExponentialSynapse", "InstantaneousSynapse")
OUTPUTS = ("COBA", "CUBA")
INPUTS = ("PoissonInput", "ConstantCurrent")
PLOTS = ("summary", "raster", "rates")


def neuron_parameters(model: str) -> dict[str, float]:
    """The configurable parameters of neuron model `model` (a `NEURON_MODELS` name) and their
    defaults: every numeric field (the surrogate gradient is not configurable from a file)."""
    return {
        f.name: f.default
        for f in dataclasses.fields(NEURON_MODELS[model])
        if isinstance(f.default, int | float) and not isinstance(f.default, bool)
    }


@dataclasses.dataclass(frozen=True)
class Key:
    """One key of a table.

    **Fields:**
    - `name`: the key as written in the file.
    - `kind`: `"float"` (an integer is accepted), `"int"`, `"str"`, `"bool"`, `"strings"` (an
      array of strings), or `"parameters"` (a table of numbers whose allowed names are the
      parameters of the neuron model named by the key `parameters_of`).
    - `doc`: one line for the reference.
    - `default`: the value when absent; `REQUIRED` if it must be given; `None` if absent means
      "let brainsim choose" (the doc says what).
    - `unit`: ms, mV, nS, pA, Hz, ...; `""` for none.
    - `choices`: allowed values (for `"strings"`, allowed elements).
    - `low`, `high`: inclusive bounds; `low_open=True` makes `low` exclusive.
    - `when`: conditions `(other_key, values)` that must all hold for the key to apply (for
      example `("connectivity", ("FixedProbability",))` for `p`); a key given where it does
      not apply is an error, and a required key is required only where it applies.
    - `parameters_of`: for `kind="parameters"`, the key naming the neuron model.
    """

    name: str
    kind: str
    doc: str
    default: object = REQUIRED
    unit: str = ""
    choices: tuple = ()
    low: int | float | None = None
    high: int | float | None = None
    low_open: bool = False
    when: tuple[tuple[str, tuple[str, ...]], ...] = ()
    parameters_of: str = ""


@dataclasses.dataclass(frozen=True)
class Table:
    """A table (`[name]`) or array of tables (`[[name]]`, `array=True`) and its keys."""

    name: str
    doc: str
    keys: tuple[Key, ...]
    array: bool = False
    optional: bool = False  # a plain table that may be absent (then `None`), e.g. [network]

    @property
    def header(self) -> str:
        return f"[[{self.name}]]" if self.array else f"[{self.name}]"


_MS_POSITIVE = {"unit": "ms", "low": 0.0, "low_open": True}
_SYNAPSE_KEYS = (
    Key("synapse", "str", "synapse model", "ExponentialSynapse", choices=SYNAPSES),
    Key(
        "tau",
        "float",
        "decay time constant of `ExponentialSynapse`, time constant of `AlphaSynapse`",
        5.0,
        **_MS_POSITIVE,
        when=(("synapse", ("ExponentialSynapse", "AlphaSynapse")),),
    ),
    Key(
        "tau_rise",
        "float",
        "rise time constant of `DualExponentialSynapse`",
        1.0,
        **_MS_POSITIVE,
        when=(("synapse", ("DualExponentialSynapse",)),),
    ),
    Key(
        "tau_decay",
        "float",
        "decay time constant of `DualExponentialSynapse`",
        5.0,
        **_MS_POSITIVE,
        when=(("synapse", ("DualExponentialSynapse",)),),
    ),
    Key(
        "output", "str", "how the synapse acts: a conductance (`COBA`) or a current (`CUBA`)", choices=OUTPUTS
    ),
    Key("e_rev", "float", "reversal potential of a `COBA` output", unit="mV", when=(("output", ("COBA",)),)),
)


def _with_condition(keys: tuple[Key, ...], condition: tuple[str, tuple[str, ...]]) -> tuple[Key, ...]:
    return tuple(dataclasses.replace(k, when=(condition,) + k.when) for k in keys)


_POISSON = ("kind", ("PoissonInput",))

SCHEMA: tuple[Table, ...] = (
    Table(
        "network",
        "Shorthand for a ready model of `bs.models` (instead of populations, projections and "
        "inputs); its populations are `E` and `I`.",
        (
            Key(
                "model",
                "str",
                "`coba` (`COBANetwork`), `cuba` (`CUBANetwork`), `cobahh` (`COBAHHNetwork`)",
                choices=tuple(NETWORK_MODELS),
            ),
            Key("n", "int", "number of neurons, 80% in `E` and 20% in `I`", 4000, low=5),
            Key("p", "float", "connection probability", 0.02, low=0.0, high=1.0),
            Key("in_degree", "int", "inputs per neuron instead of `p` (default: use `p`)", None, low=1),
            Key(
                "w_exc",
                "float",
                "excitatory weight, nS (`coba`, `cobahh`) or pA (`cuba`) (default: the model's)",
                None,
            ),
            Key("w_inh", "float", "inhibitory weight, nS or pA (default: the model's)", None),
            Key(
                "drive",
                "float",
                "constant current into every neuron (default: the model's, 200 pA)",
                None,
                unit="pA",
                when=(("model", ("coba",)),),
            ),
        ),
        optional=True,
    ),
    Table(
        "populations",
        "One table per population: `n` neurons of one model.",
        (
            Key("name", "str", "unique name, used by projections, inputs and `simulation.record`"),
            Key("n", "int", "number of neurons", low=1),
            Key("neuron", "str", "neuron model", "LIF", choices=tuple(NEURON_MODELS)),
            Key(
                "parameters",
                "parameters",
                "the model's keyword arguments (numbers; see below); the model checks their values",
                {},
                parameters_of="neuron",
            ),
        ),
        array=True,
    ),
    Table(
        "projections",
        "One table per projection: pre -> delay -> connectivity -> synapse -> output -> post.",
        (
            Key("pre", "str", "presynaptic population"),
            Key("post", "str", "postsynaptic population"),
            Key(
                "name",
                "str",
                "unique name (default: `pre->post`); needed for two projections between the same populations",
                None,
            ),
            Key("connectivity", "str", "connectivity rule", choices=CONNECTIVITY),
            Key(
                "p",
                "float",
                "connection probability of `FixedProbability`",
                low=0.0,
                high=1.0,
                when=(("connectivity", ("FixedProbability",)),),
            ),
            Key(
                "k",
                "int",
                "in-degree (`FixedInDegree`) or out-degree (`FixedOutDegree`)",
                low=0,
                when=(("connectivity", ("FixedInDegree", "FixedOutDegree")),),
            ),
            Key("weight", "float", "weight per synapse, nS for `COBA` (>= 0), pA for `CUBA`"),
            Key(
                "allow_self_connections",
                "bool",
                "whether neuron i may connect to neuron i",
                True,
                when=(("connectivity", CONNECTIVITY[:-1]),),
            ),
            *_SYNAPSE_KEYS,
            Key(
                "delay",
                "float",
                "transmission delay, a multiple of `simulation.dt` (default: one step)",
                None,
                **_MS_POSITIVE,
            ),
        ),
        array=True,
    ),
    Table(
        "inputs",
        "One table per external input to a population.",
        (
            Key("target", "str", "population that receives the input"),
            Key(
                "kind",
                "str",
                "`PoissonInput` (independent Poisson sources per neuron) or `ConstantCurrent`",
                choices=INPUTS,
            ),
            Key(
                "current",
                "float",
                "current of a `ConstantCurrent`",
                unit="pA",
                when=(("kind", ("ConstantCurrent",)),),
            ),
            Key("n_sources", "int", "Poisson sources per target neuron", low=0, when=(_POISSON,)),
            Key(
                "rate",
                "float",
                "rate of each Poisson source (at most 1 / `dt`)",
                unit="Hz",
                low=0.0,
                when=(_POISSON,),
            ),
            Key(
                "weight", "float", "weight per Poisson spike, nS for `COBA`, pA for `CUBA`", when=(_POISSON,)
            ),
            *_with_condition(_SYNAPSE_KEYS, _POISSON),
        ),
        array=True,
    ),
    Table(
        "simulation",
        "How long and how finely to simulate.",
        (
            Key("duration", "float", "simulated time, a multiple of `dt`", 1000.0, **_MS_POSITIVE),
            Key("dt", "float", "time step", 0.1, **_MS_POSITIVE),
            Key(
                "seed",
                "int",
                "the network is built with `k1` and simulated with `k2`, where `k1, k2 = "
                "jax.random.split(jax.random.key(seed))`",
                0,
                low=0,
            ),
            Key("engine", "str", "`bs.simulate`'s engine", "auto", choices=ENGINES),
            Key("record", "strings", "populations whose spikes are saved (default: all)", None),
        ),
    ),
    Table(
        "output",
        "Where and what `brainsim run` and `brainsim map` write.",
        (
            Key(
                "directory",
                "str",
                "output directory, relative to the working directory (`--out` overrides it)",
                "brainsim_output",
            ),
            Key(
                "plots",
                "strings",
                "`summary` (raster above rates, summary.png), `raster` (raster.png), `rates` (rates.png)",
                ["summary"],
                choices=PLOTS,
            ),
            Key(
                "rate_kernel",
                "str",
                "smoothing kernel of the population-rate plots (`bs.analysis.RateKernel`)",
                "gaussian",
                choices=KERNEL_SHAPES,
            ),
            Key(
                "rate_width",
                "float",
                "the kernel's width: σ (gaussian), full width (rectangular) or τ (exponential)",
                5.0,
                **_MS_POSITIVE,
            ),
        ),
    ),
    Table(
        "hardware",
        "The chip and mapper of `brainsim map` (`--chip` and `--mapper` override them).",
        (
            Key("chip", "str", "chip preset (`bs.hardware.chip_preset`)", "loihi", choices=CHIPS),
            Key(
                "mapper",
                "str",
                "mapping algorithm (`bs.hardware.map_network`)",
                "traffic",
                choices=hardware.MAPPERS,
            ),
            Key("seed", "int", "seed of the mapper's random choices", 0, low=0),
        ),
    ),
)
"""Every table of a config file, in the order they are validated."""


# -- validation ---------------------------------------------------------------------------------


def dotted(path: tuple) -> str:
    """`("projections", 1, "weight")` -> `"projections[1].weight"`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
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
    raise AssertionError(f"schema key `{key.name}` has unknown kind {key.kind!r}")


def _check_range(key: Key, value, name: str, at: str, error) -> None:
    too_low = key.low is not None and (value <= key.low if key.low_open else value < key.low)
    too_high = key.high is not None and value > key.high
    if too_low or too_high or (isinstance(value, float) and math.isinf(value)):
        raise error(f"{name} {at} must be {_range(key) or 'finite'}{_unit(key)}; got {value!r}.")


def _range(key: Key) -> str:
    if key.low is not None and key.high is not None:
        return f"in {'(' if key.low_open else '['}{key.low:g}, {key.high:g}]"
    if key.low is not None:
        return f"{'>' if key.low_open else '>='} {key.low:g}"
    if key.high is not None:
        return f"<= {key.high:g}"
    return ""


def _range_suffix(key: Key) -> str:
    text = _range(key)
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


# -- reference ----------------------------------------------------------------------------------


def reference_markdown() -> str:
    """The schema as Markdown tables (the "Config reference" of `docs/cli.md`)."""
    lines = []
    for table in SCHEMA:
        optional = " (optional)" if table.optional else ""
        lines += [
            f"### `{table.header}`{optional}",
            "",
            table.doc,
            "",
            "| key | type | default | meaning |",
            "|---|---|---|---|",
        ]
        for key in table.keys:
            lines.append(f"| `{key.name}` | {_type_text(key)} | {_default_text(key)} | {_doc_text(key)} |")
        lines.append("")
    lines += [
        "### Neuron parameters",
        "",
        "`parameters` of `[[populations]]` takes the numeric fields of "
        "the model named by `neuron` (units and ranges in the model's API page); defaults:",
        "",
    ]
    for model in NEURON_MODELS:
        params = ", ".join(f"`{p}` = {v:g}" for p, v in neuron_parameters(model).items())
        lines.append(f"- `{model}`: {params}")
    lines.append("")
    return "\n".join(lines)


def _type_text(key: Key) -> str:
    base = {
        "float": "number",
        "int": "integer",
        "str": "string",
        "bool": "boolean",
        "strings": "array of strings",
        "parameters": "table of numbers",
    }[key.kind]
    parts = [base]
    if key.unit:
        parts.append(key.unit)
    if _range(key):
        parts.append(_range(key).replace("[", "\\[").replace("]", "\\]"))
    if key.choices:
        each = "each one of " if key.kind == "strings" else "one of "
        parts.append(each + ", ".join(f"`{c}`" for c in key.choices))
    return ", ".join(parts)


def _default_text(key: Key) -> str:
    if key.default is REQUIRED:
        return "required"
    if key.default is None:
        return "see meaning"
    if isinstance(key.default, bool):
        return f"`{str(key.default).lower()}`"
    if isinstance(key.default, str):
        return f'`"{key.default}"`'
    if isinstance(key.default, list):
        return "`[" + ", ".join(f'"{v}"' for v in key.default) + "]`"
    if isinstance(key.default, dict):
        return "`{}`"
    return f"`{key.default:g}`"


def _doc_text(key: Key) -> str:
    text = key.doc
    if key.when:
        text += "; only when " + " and ".join(
            f"`{other}` is " + " or ".join(f"`{v}`" for v in values) for other, values in key.when
        )
    return text
