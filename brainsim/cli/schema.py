"""The config file schema: every table and key with its type, range or choices, default and
meaning, as data (`SCHEMA`).

A config describes a network the way it is drawn: `[[populations]]`, `[[projections]]` and
`[[inputs]]` (or the `[network]` shorthand for a ready model), then `[simulation]`, `[output]`
and `[hardware]`, and for `brainsim sweep` a `[sweep]` table of key paths and their values.
Validation fills in defaults and returns plain dicts; every mistake is a `ConfigError` naming
the key as `table.key` (`projections[1].weight` for the second projection), where it is (`at
line 12`, or the `--set` override that gave it) and what is allowed. `brainsim.cli.validate`
does the checking and `brainsim.cli.reference` renders the schema for `docs/cli.md`
(regenerate that section with `python -c "from brainsim.cli import reference_markdown as r; print(r())"`).
"""

import dataclasses

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
SWEEPABLE = ("network", "populations", "projections", "inputs", "simulation.seed")
"""What `[sweep] parameters` may vary: keys of these tables (and `simulation.seed`), the ones
that build the network; the others are the same for every point."""
METRICS = ("rate", "cv", "synchrony")
"""`[sweep] metrics` kinds: alone (all neurons) or as `<kind>_<population>`."""


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
      array of strings), `"parameters"` (a table of numbers whose allowed names are the
      parameters of the neuron model named by the key `parameters_of`), or `"grid"` (a table
      mapping key paths of `SWEEPABLE` tables to non-empty arrays of distinct values).
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
                when=(("connectivity", ("FixedProbability", "FixedInDegree", "FixedOutDegree", "AllToAll")),),
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
    Table(
        "sweep",
        "The grid of `brainsim sweep` (and only of it: `run` and `map` refuse a config with it).",
        (
            Key(
                "parameters",
                "grid",
                "key path -> array of values; the points are every combination (the last path "
                'varying fastest). A path is written as for `--set`: `"network.w_inh"`, '
                '`"projections.0.weight"`, `"populations.exc.parameters.t_ref"`; only keys of '
                "`[network]`, `[[populations]]`, `[[projections]]`, `[[inputs]]` and "
                "`simulation.seed` (the network's key) can vary",
            ),
            Key(
                "metrics",
                "strings",
                "columns computed from each point's run: `rate` (Hz), `cv` (mean ISI CV), "
                "`synchrony` (Golomb's χ of spike counts in `synchrony_bin` bins) over all neurons, "
                "or of one population: `rate_<population>`, `cv_<population>`, `synchrony_<population>`",
                ["rate"],
            ),
            Key(
                "synchrony_bin",
                "float",
                "bin width of the `synchrony` metrics (at least 2 bins in `simulation.duration`)",
                2.0,
                **_MS_POSITIVE,
            ),
            Key(
                "batch_size",
                "int",
                "points per compiled chunk (default: `bs.sweep` chooses from a memory budget)",
                None,
                low=1,
            ),
            Key("engine", "str", "`bs.sweep`'s engine (default: `simulation.engine`)", None, choices=ENGINES),
        ),
        optional=True,
    ),
)
"""Every table of a config file, in the order they are validated."""


def range_text(key: Key) -> str:
    """`key`'s allowed range in words: `"in [0, 1]"`, `"> 0"`, `">= 1"`, or `""`."""
    if key.low is not None and key.high is not None:
        return f"in {'(' if key.low_open else '['}{key.low:g}, {key.high:g}]"
    if key.low is not None:
        return f"{'>' if key.low_open else '>='} {key.low:g}"
    if key.high is not None:
        return f"<= {key.high:g}"
    return ""
