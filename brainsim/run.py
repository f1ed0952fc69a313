r"""`run`: a whole simulation as one pure, transformable function.

    result = bs.run(network, duration, dt, key=key, inputs={"stimulus": x})

is a `jax.lax.scan` of `Network.step` that returns arrays: it runs under `jax.jit`,
`jax.vmap` (over keys, parameters or a batch of data), `jax.grad` and `jax.checkpoint`
unchanged, and its outputs carry gradients: spikes through their surrogate derivative,
spike counts and population rates as sums of those spikes, values (rates of `RateUnit`s,
monitored state) directly. `brainsim.simulate` is the host driver around the same step
(chunks, progress bar, compact spike records, the fused native engine).

NaN/Inf in a population's state raises under `jit` too (`equinox.error_if`), naming the
population; so does a NaN/Inf in the gradient flowing back through the state.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np
from jaxtyping import Array

from ._validation import require_positive_int
from .dynamics import AbstractCurrentInput, AbstractEventInput
from .monitors import check_monitors
from .network import Network, NetworkState
from .network.step import all_finite


class RunResult(eqx.Module):
    """What `run` returns: arrays, differentiable where they mean something.

    **Fields:**
    - `dt` (ms), `n_steps`.
    - `outputs`: per recorded population, `(n_steps, n)`: 0/1 spikes (floating point, with
      surrogate gradients) for spiking populations, values (e.g. Hz) for value populations.
    - `spike_counts`: per spiking population, spikes per step `(n_steps,)`, floating point
      (the sum of the spikes: it carries their surrogate gradients).
    - `traces`: per monitor name, `(n_samples, ...)` samples (one every `every` steps).
    - `overflow_steps`: per projection, steps whose active rows exceeded the event buffer.
    - `final_state`: the `NetworkState` after the last step.
    """

    dt: float = eqx.field(static=True)
    n_steps: int = eqx.field(static=True)
    sizes: tuple[tuple[str, int], ...] = eqx.field(static=True)
    outputs: dict[str, Array]
    spike_counts: dict[str, Array]
    traces: dict[str, Array]
    overflow_steps: dict[str, Array]
    final_state: NetworkState

    @property
    def duration(self) -> float:
        return self.n_steps * self.dt

    @property
    def rates(self) -> dict[str, Array]:
        """Mean firing rate per spiking population over the run, Hz (differentiable)."""
        sizes = dict(self.sizes)
        return {
            name: jnp.sum(counts) / (sizes[name] * self.duration * 1e-3)
            for name, counts in self.spike_counts.items()
        }


def run(
    network: Network,
    duration: float,
    dt: float = 0.1,
    *,
    key,
    inputs: dict[str, Array] | None = None,
    initial_state: NetworkState | None = None,
    monitors=(),
    record: bool | tuple[str, ...] = True,
    checkpoint_every: int | None = None,
) -> RunResult:
    """Run `network` for `duration` ms with step `dt` ms; pure and transformable.

    **Arguments:**
    - `network`, `duration` (ms, a positive multiple of `dt`), `dt` (ms, > 0): as `simulate`;
      both times are Python numbers (static), everything else may be traced.
    - `key`: a `jax.random` key (`jax.random.key(0)`); the same key gives the same result, and
      the same spikes as `simulate` with that key.
    - `inputs`: the data channel: `{name: array}` with a leading time axis of `n_steps`, one
      entry per data-source population (`SpikeSource`, `ValueSource`: shape `(n_steps, n)`) and
      per `StreamedCurrent` stream (`(n_steps,)` or `(n_steps, n)`, pA).
    - `initial_state`: a `NetworkState` to start from; default `network.init_state(key=...)`.
    - `monitors`: `StateMonitor`s, `Monitor`s or `"target.variable"` strings.
    - `record`: which populations' outputs to return per step (`True`: all).
    - `checkpoint_every`: rematerialise the backward pass in segments of this many steps
      (`jax.checkpoint` around each segment): memory for `jax.grad` grows with
      `n_steps / checkpoint_every + checkpoint_every` steps instead of `n_steps`, at the cost
      of one more forward pass. Must divide the number of steps.
    """
    dt, n_steps = check_time(duration, dt)
    monitors, recorded, data = check_run(network, n_steps, dt, key, inputs, initial_state, monitors, record)
    if checkpoint_every is not None:
        if n_steps % require_positive_int("checkpoint_every", checkpoint_every):
            raise ValueError(
                f"`checkpoint_every` must divide the number of steps ({n_steps}); got {checkpoint_every}."
            )
    state = network.init_state(key=jr.fold_in(key, 0), dt=dt) if initial_state is None else initial_state
    body = step_recorder(network, dt, key, monitors, recorded, guard_gradients=True)
    xs = data if data else None
    if checkpoint_every is None or checkpoint_every == n_steps:
        state, (outputs, counts, traces, overflow, finite) = jax.lax.scan(body, state, xs, length=n_steps)
    else:
        segments = n_steps // checkpoint_every

        @jax.checkpoint
        def segment(state, xs_segment):
            return jax.lax.scan(body, state, xs_segment, length=checkpoint_every)

        if xs is not None:
            xs = jtu.tree_map(lambda x: x.reshape((segments, checkpoint_every) + x.shape[1:]), xs)
        state, ys = jax.lax.scan(segment, state, xs, length=segments)
        outputs, counts, traces, overflow, finite = jtu.tree_map(
            lambda y: y.reshape((n_steps,) + y.shape[2:]), ys
        )
    traces = {m.name: traces[m.name][m.every - 1 :: m.every] for m in monitors}
    result = RunResult(
        dt=dt,
        n_steps=n_steps,
        sizes=tuple(network.population_sizes.items()),
        outputs=outputs,
        spike_counts=counts,
        traces=traces,
        overflow_steps={name: jnp.sum(flags) for name, flags in overflow.items()},
        final_state=state,
    )
    return error_if_not_finite(result, finite, "`run`", " (`simulate` reports the step)")


def error_if_not_finite(result, finite: dict, during: str, hint: str = ""):
    """`result`, raising under `jit` (`eqx.error_if`) if any population's `finite` flags are
    false, naming the population."""
    for name, ok in finite.items():
        result = eqx.error_if(
            result,
            jnp.logical_not(jnp.all(ok)),
            f"population `{name}`: state became NaN/Inf during {during}. Check parameters and input "
            f"currents, or reduce `dt`{hint}.",
        )
    return result


def step_recorder(network: Network, dt: float, key, monitors, recorded, *, guard_gradients: bool):
    """The `lax.scan` body shared by `run` and `simulate`: one `Network.step` and what it
    reports, `(outputs of recorded populations, spike counts, monitor samples, overflow flags,
    finite flags)`. Steps draw randomness from `fold_in(key, 1)`, folded again with the step
    index inside the step, so chunking never changes results."""
    key_run = jr.fold_in(key, 1)
    spiking = [name for name, kind in network.emissions().items() if kind == "spikes"]

    def body(state, data_t):
        new_state, record = network.step(state, data_t, dt, key_run)
        if guard_gradients:
            new_state = _finite_cotangent(new_state)
        outputs = {name: record.outputs[name] for name in recorded}
        counts = {name: jnp.sum(record.outputs[name]) for name in spiking}
        traces = {m.name: m.sample(new_state) for m in monitors}
        return new_state, (outputs, counts, traces, record.overflow, record.finite)

    return body


@jax.custom_vjp
def _finite_cotangent(state):
    return state


def _finite_cotangent_fwd(state):
    return state, None


def _finite_cotangent_bwd(_, cotangent):
    cotangent = eqx.error_if(
        cotangent,
        jnp.logical_not(all_finite(cotangent)),
        "the gradient flowing back through the network state became NaN/Inf. The surrogate "
        "derivative is too wide for this network (see `brainsim.dynamics.surrogate`), or the "
        "forward run itself diverged.",
    )
    return (cotangent,)


_finite_cotangent.defvjp(_finite_cotangent_fwd, _finite_cotangent_bwd)


# -- argument checks shared with `simulate` (shapes and static values only: they accept tracers) --
def check_time(duration, dt) -> tuple[float, int]:
    """`(dt, n_steps)` from a duration and step in ms."""
    for name, value in (("duration", duration), ("dt", dt)):
        if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
            raise TypeError(
                f"`{name}` must be a number of ms (a Python float, static); got {type(value).__name__}."
            )
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"`{name}` must be > 0 ms; got {value}.")
    ratio = duration / dt
    n_steps = round(ratio)
    if n_steps < 1 or abs(ratio - n_steps) > 1e-6 * max(1.0, ratio):
        raise ValueError(
            f"`duration` must be a positive multiple of `dt`; got duration={duration} ms and "
            f"dt={dt} ms ({ratio:g} steps)."
        )
    return float(dt), int(n_steps)


def check_run(network, n_steps, dt, key, inputs, initial_state, monitors, record, record_name="`record`"):
    """`(monitors, recorded population names, data)` after checking every argument
    (`record_name`: what the caller calls `record`, for the messages)."""
    if not isinstance(network, Network):
        raise TypeError(f"`network` must be a `bs.Network`; got {type(network).__name__}.")
    check_key(key)
    for inp in network.inputs:
        if isinstance(inp, AbstractCurrentInput | AbstractEventInput):
            inp.check_dt(dt)
    monitors = check_monitors(network, monitors)
    recorded = check_populations(network, record, record_name)
    data = check_inputs(network, inputs, n_steps)
    if initial_state is not None:
        check_initial_state(network, initial_state)
    return monitors, recorded, data


def check_key(key) -> None:
    """A `jax.random` key: a typed key array (`jax.random.key`) or a legacy `uint32[2]`."""
    dtype, shape = getattr(key, "dtype", None), getattr(key, "shape", None)
    typed = dtype is not None and jnp.issubdtype(dtype, jax.dtypes.prng_key) and shape == ()
    legacy = dtype == jnp.uint32 and shape == (2,)
    if not (typed or legacy):
        raise TypeError(
            f"`key` must be a `jax.random` key, e.g. `jax.random.key(0)`; got {key!r:.60}"
            + (f" (dtype {dtype}, shape {shape})." if dtype is not None else ".")
        )


def check_populations(network, names, what: str) -> tuple[str, ...]:
    """Population names from `True` (all), `False` (none) or a sequence."""
    if names is True:
        return tuple(p.name for p in network.populations)
    if names is False:
        return ()
    known = network.population_sizes
    names = (names,) if isinstance(names, str) else tuple(names)
    for name in names:
        if name not in known:
            raise ValueError(f"{what}: unknown population `{name}`; known: {sorted(known)}.")
    return names


def check_inputs(network, inputs, n_steps: int) -> dict:
    """The data channel as a dict of arrays, each `(n_steps, ...)` as `network.streams()` says."""
    expected = network.streams()
    inputs = {} if inputs is None else inputs
    if not isinstance(inputs, dict):
        raise TypeError(
            f"`inputs` must be a dict of arrays with a leading time axis; got {type(inputs).__name__}."
        )
    missing, unknown = set(expected) - set(inputs), set(inputs) - set(expected)
    if missing or unknown:
        raise ValueError(
            f"`inputs` must have exactly the network's streams {sorted(expected)}; "
            + (f"missing {sorted(missing)}" if missing else "")
            + ("; " if missing and unknown else "")
            + (f"unknown {sorted(unknown)}" if unknown else "")
            + "."
        )
    data = {}
    for name, per_step in expected.items():
        value = inputs[name]
        shape = np.shape(value)
        allowed = [(n_steps, *per_step)]
        if name not in network.population_sizes:  # a streamed current may be one value per step
            allowed.append((n_steps,))
        if shape not in allowed:
            raise ValueError(
                f"`inputs[{name!r}]` must have shape {' or '.join(map(str, allowed))} (a leading "
                f"time axis of {n_steps} steps); got {shape}."
            )
        value = jnp.asarray(value)
        if not jnp.issubdtype(value.dtype, jnp.floating):
            value = value.astype(jnp.result_type(float))
        data[name] = value
    return data


def check_initial_state(network, state) -> None:
    """`state` has the structure, shapes and dtypes of `network.init_state(...)`."""
    if not isinstance(state, NetworkState):
        raise TypeError(f"`initial_state` must be a `NetworkState`; got {type(state).__name__}.")
    reference = jax.eval_shape(lambda: network.init_state(key=jr.key(0)))
    expected = jtu.tree_flatten_with_path(reference)
    given = jtu.tree_flatten_with_path(state)
    if expected[1] != given[1]:
        raise ValueError(
            "`initial_state` does not match the network's state structure: expected "
            f"{expected[1]}, got {given[1]}. Start from `network.init_state(key=...)` or a "
            "`final_state` of the same network."
        )
    for (path, ref), (_, leaf) in zip(expected[0], given[0], strict=True):
        shape, dtype = np.shape(leaf), jnp.result_type(leaf)
        if shape != ref.shape or dtype != ref.dtype:
            raise ValueError(
                f"`initial_state{jtu.keystr(path)}` must have shape {ref.shape} and dtype "
                f"{ref.dtype}; got shape {shape} and dtype {dtype}."
            )
