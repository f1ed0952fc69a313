"""From a validated `Config` to a `bs.Network`, through brainsim's public constructors.

Each constructor checks its own arguments (`LIF(t_ref=-1.0)` raises "`t_ref` must be >= 0
ms"); `build_network` reraises such an error as a `ConfigError` that names the config key and
its line, so the model's message and the file position arrive together.
"""

import re

import jax.random as jr

from .. import (
    COBA,
    CUBA,
    AllToAll,
    AlphaSynapse,
    ConstantCurrent,
    DualExponentialSynapse,
    ExponentialSynapse,
    FixedInDegree,
    FixedOutDegree,
    FixedProbability,
    InstantaneousSynapse,
    Network,
    OneToOne,
    PoissonInput,
    Population,
    Projection,
)
from .config import Config
from .schema import NETWORK_MODELS, NEURON_MODELS, ConfigError

_RULES = {
    "FixedProbability": lambda c: FixedProbability(
        c["p"], weight=c["weight"], allow_self_connections=c["allow_self_connections"]
    ),
    "FixedInDegree": lambda c: FixedInDegree(
        c["k"], weight=c["weight"], allow_self_connections=c["allow_self_connections"]
    ),
    "FixedOutDegree": lambda c: FixedOutDegree(
        c["k"], weight=c["weight"], allow_self_connections=c["allow_self_connections"]
    ),
    "AllToAll": lambda c: AllToAll(weight=c["weight"], allow_self_connections=c["allow_self_connections"]),
    "OneToOne": lambda c: OneToOne(weight=c["weight"]),
}
_SYNAPSES = {
    "ExponentialSynapse": lambda c: ExponentialSynapse(tau=c["tau"]),
    "AlphaSynapse": lambda c: AlphaSynapse(tau=c["tau"]),
    "DualExponentialSynapse": lambda c: DualExponentialSynapse(
        tau_rise=c["tau_rise"], tau_decay=c["tau_decay"]
    ),
    "InstantaneousSynapse": lambda c: InstantaneousSynapse(),
}
_OUTPUTS = {"COBA": lambda c: COBA(e_rev=c["e_rev"]), "CUBA": lambda c: CUBA()}


def keys(seed: int):
    """`(network_key, simulation_key)` = `jax.random.split(jax.random.key(seed))`, as `brainsim
    demo` does: the same seed in Python gives the same network and spikes."""
    network_key, simulation_key = jr.split(jr.key(seed))
    return network_key, simulation_key


def build_network(config: Config) -> Network:
    """The `Network` that `config` describes, built with `keys(simulation.seed)[0]`.

    **Returns:** a `bs.Network`. Raises `ConfigError` naming the key whose value a brainsim
    constructor rejected.
    """
    values = config.values
    network_key, _ = keys(values["simulation"]["seed"])
    if values["network"] is not None:
        return _model(config, network_key)
    dt = values["simulation"]["dt"]
    populations = [_population(config, i, p) for i, p in enumerate(values["populations"])]
    projections = [_projection(config, i, p, dt) for i, p in enumerate(values["projections"])]
    inputs = [_input(config, i, p, dt) for i, p in enumerate(values["inputs"])]
    try:
        return Network(populations, projections, inputs, key=network_key)
    except (ValueError, TypeError) as err:
        raise _network_error(config, projections, err) from None


def _model(config: Config, key):
    spec = dict(config.values["network"])
    build = NETWORK_MODELS[spec.pop("model")]
    kwargs = {name: value for name, value in spec.items() if value is not None}
    try:
        return build(key=key, **kwargs)
    except (ValueError, TypeError) as err:
        weight = re.search(r"projection `([EI])->", str(err))  # a Network check on a weight
        name = _named_key(err, kwargs) or (f"w_{'exc' if weight[1] == 'E' else 'inh'}" if weight else "model")
        raise config.error(("network", name), str(err)) from None


def _population(config: Config, index: int, spec: dict) -> Population:
    path = ("populations", index)
    params = spec["parameters"]
    try:
        neuron = NEURON_MODELS[spec["neuron"]](**params)
    except (ValueError, TypeError) as err:
        name = _named_key(err, params)
        where = path + (("parameters", name) if name else ("neuron",))
        raise config.error(where, str(err)) from None
    try:
        return Population(spec["name"], spec["n"], neuron)
    except (ValueError, TypeError) as err:
        raise config.error(path, str(err)) from None


def _projection(config: Config, index: int, spec: dict, dt: float) -> Projection:
    path = ("projections", index)
    rule = _construct(config, path, spec, _RULES[spec["connectivity"]], "connectivity")
    synapse = _construct(config, path, spec, _SYNAPSES[spec["synapse"]], "synapse")
    output = _construct(config, path, spec, _OUTPUTS[spec["output"]], "output")
    delay_steps = 1 if spec["delay"] is None else round(spec["delay"] / dt)
    try:
        return Projection(
            spec["pre"], spec["post"], rule, synapse, output, delay_steps=delay_steps, name=spec["name"]
        )
    except (ValueError, TypeError) as err:
        raise config.error(path, str(err)) from None


def _input(config: Config, index: int, spec: dict, dt: float):
    path = ("inputs", index)
    if spec["kind"] == "ConstantCurrent":
        inp = _construct(config, path, spec, lambda c: ConstantCurrent(c["target"], c["current"]), "kind")
    else:
        synapse = _construct(config, path, spec, _SYNAPSES[spec["synapse"]], "synapse")
        output = _construct(config, path, spec, _OUTPUTS[spec["output"]], "output")
        inp = _construct(
            config,
            path,
            spec,
            lambda c: PoissonInput(c["target"], c["n_sources"], c["rate"], c["weight"], synapse, output),
            "kind",
        )
    try:
        inp.check_dt(dt)
    except ValueError as err:
        raise config.error(path + ("rate",), str(err)) from None
    return inp


def _construct(config: Config, path: tuple, spec: dict, make, fallback: str):
    """`make(spec)`, with a constructor's error reraised at the key it names (else `fallback`)."""
    try:
        return make(spec)
    except (ValueError, TypeError) as err:
        raise config.error(path + (_named_key(err, spec) or fallback,), str(err)) from None


def _named_key(err: Exception, keys) -> str | None:
    """The first `name` in backticks in a brainsim message that is one of `keys`."""
    for name in re.findall(r"`(\w+)`", str(err)):
        if name in keys:
            return name
    return None


def _network_error(config: Config, projections, err: Exception) -> ConfigError:
    """A `Network` error at the projection it concerns: the one its message names, else the
    first whose rule does not build on its own (e.g. `k` larger than the population)."""
    message = str(err)
    for index, proj in enumerate(projections):
        if f"projection `{proj.name}`" in message:
            spec = config.values["projections"][index]
            name = _named_key(err, spec) or ("weight" if re.search(r"\bweight\b", message) else None)
            return config.error(("projections", index) + ((name,) if name else ()), message)
    sizes = {p["name"]: p["n"] for p in config.values["populations"]}
    for index, proj in enumerate(projections):
        try:
            proj.connectivity.build(sizes[proj.pre], sizes[proj.post], key=jr.key(0))
        except (ValueError, TypeError) as rule_err:
            spec = config.values["projections"][index]
            name = _named_key(rule_err, spec) or "connectivity"
            return config.error(("projections", index, name), str(rule_err))
    return ConfigError(f"{config.path}: {message}")
