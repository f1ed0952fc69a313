r"""Spiking layers for machine-learning-style models, stepped over time with the simulator's own
neuron, synapse and surrogate code.

A layer maps a sequence `x` of shape `(T, batch, n_in)` (time first; `batch_first=True` takes
`(batch, T, n_in)`) to `(T, batch, n_out)`. In step $t$ (of `dt` ms) a spiking layer does what
a `Population` fed by `Projection`s does in `Network.step`, in the same order and with the same
methods:

$$d_t = x_t W_\mathrm{in} + s_{t-1} W_\mathrm{rec}, \quad g \leftarrow \mathrm{on\_events}(g, d_t),
\quad y \leftarrow \mathrm{ExpEuler}(y; \mathrm{output}(g)), \quad s_t = H(v - V_\theta), \quad
y \leftarrow \mathrm{reset}(y, s_t), \quad g \leftarrow \mathrm{advance}(g),$$

with the model's `linear_coefficients` and exponential Euler (`ExponentialEuler`), `spike` (its
surrogate in the backward pass) and `reset` (detached, as in the simulator). Weights are in the
synapse's unit (pA for `CUBA`, nS for `COBA`) per unit of input.

**Fast path.** Nothing but the recurrence needs the time loop: the input projection of all steps,
$X W_\mathrm{in}$ with $X$ of shape `(T * batch, n_in)`, is one matrix product before the scan
(and its weight gradient one product after it), so the scan carries only the `(batch, n_out)`
state and the recurrent product. With `checkpoint_every = c` the projection is computed per
chunk of `c` steps inside the checkpoint (`checkpointed_scan`'s `prologue`), so BPTT memory
grows like $T/c + c$ steps rather than $T$.

**Voltage path.** A recurrent or feed-forward layer of `LIF` neurons behind an
`InstantaneousSynapse` (CUBA or COBA output, constant neuron parameters, plain BPTT) has a
custom backward pass (`_voltage_recursion`): only the membrane potential carries a gradient
from step to step, so the forward scan records four per-neuron derivatives of each step (forward
mode through the layer's own `cell`), the reverse scan is two multiply-adds and one
`(batch, n) x (n, n)` product per step, and the recurrent weight gradient is one product
$S_{t-1}^T G$ after it instead of one per step. Same spikes, gradients equal to autodiff's to
float rounding. Other layers take the generic scan.

**Native path.** On CPU, when the native library is built, a voltage-path layer with a `CUBA`
output and scalar `LIF` parameters runs both scans in C++ (`brainsim.train.native_layer`): the
recurrent input by events (only the rows of $W_\mathrm{rec}$ of the neurons that spiked), no
per-step dispatch, threads over the batch. The input projection of every voltage-path layer and
of `LeakyReadout` is `brainsim.ops.event_dense_matmul`, which reads only the nonzero inputs
when they are sparse (spikes) and is XLA's product otherwise. Together about 3x faster than the
JAX scans for the 700-256-20 benchmark (`benchmarks/train_step.py`, docs/training.md).

**Delay convention.** The recurrent input of step $t$ is the layer's spikes of step $t - 1$:
a recurrent `Projection` with `delay_steps=1`. Input rows act in the step they are given (no
delay); a `Network`'s `SpikeSource` projection delivers row $t$ in step $t + 1$ (its
`delay_steps=1`), so a layer fed the input shifted by one step (a zero row first) emits the
same spikes as that `Network`.
"""

import abc
import functools as ft
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from ..dynamics.base import exponential_euler_step, exponential_euler_update
from ..dynamics.neurons.alif import ALIF, ALIFState
from ..dynamics.neurons.base import AbstractNeuron, AbstractSpikingNeuron, AbstractValueNeuron
from ..dynamics.neurons.lif import LIF, LIFState
from ..dynamics.synapses.base import COBA, CUBA, AbstractOutput, AbstractSynapse
from ..dynamics.synapses.instantaneous import InstantaneousSynapse
from ..ops.event_dense import event_dense_matmul
from .bptt import checkpointed_scan
from .native_layer import native_lif_layer, takes_native_path

SequenceIn = Float[Array, "time batch n_in"]
SequenceOut = Float[Array, "time batch n_out"]


def check_sequence(x, n_in: int, batch_first: bool, who: str) -> SequenceIn:
    """`x` as a time-first float array `(T, batch, n_in)`; clear errors before any compilation."""
    if not isinstance(x, jax.Array | np.ndarray):
        x = np.asarray(x)
    if x.ndim != 3:
        layout = "(batch, T, n_in)" if batch_first else "(T, batch, n_in)"
        raise ValueError(f"{who}: input must have shape {layout}; got shape {tuple(x.shape)}.")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(
            f"{who}: input must be floating point (0/1 spikes or values); got dtype {x.dtype}. "
            "Convert it, e.g. `x.astype(jnp.float32)`."
        )
    if batch_first:
        x = jnp.swapaxes(x, 0, 1)
    n_steps, batch, features = x.shape
    if features != n_in:
        raise ValueError(
            f"{who}: input has {features} features on its last axis; the layer takes `n_in` = {n_in}."
        )
    if n_steps == 0:
        raise ValueError(f"{who}: the time axis is empty (T = 0).")
    if batch == 0:
        raise ValueError(f"{who}: the batch is empty (batch = 0).")
    return jnp.asarray(x)


@ft.singledispatch
def rest_state(neuron, n: int, dtype):
    """The state of `n` neurons of `neuron` at rest, from which a layer starts each sequence."""
    raise TypeError(
        f"no rest state for {type(neuron).__name__}; register one with "
        "`brainsim.train.layers.rest_state.register`."
    )


@rest_state.register
def _(neuron: LIF, n: int, dtype) -> LIFState:
    return LIFState(v=jnp.full(n, neuron.e_leak, dtype), refractory=jnp.zeros(n, dtype))


@rest_state.register
def _(neuron: ALIF, n: int, dtype) -> ALIFState:
    zeros = jnp.zeros(n, dtype)
    return ALIFState(v=jnp.full(n, neuron.e_leak, dtype), adaptation=zeros, refractory=zeros)


@ft.singledispatch
def emit(neuron, y, detach_reset: bool = True):
    """`(y, output)` after a layer's step: what `neuron` passes on, and its state after that."""
    raise TypeError(f"no emission rule for {type(neuron).__name__}; register one with `emit.register`.")


@emit.register
def _(neuron: AbstractSpikingNeuron, y, detach_reset: bool = True):
    fired = neuron.spike(y)
    # detached reset, as `Network.step` (see `brainsim.dynamics.surrogate`)
    return neuron.reset(y, jax.lax.stop_gradient(fired) if detach_reset else fired), fired


@emit.register
def _(neuron: AbstractValueNeuron, y, detach_reset: bool = True):
    return y, neuron.value(y)


def _batched(tree, batch: int):
    return jtu.tree_map(lambda a: jnp.broadcast_to(a, (batch,) + a.shape), tree)


def _project(x: SequenceIn, weights: Float[Array, "n_in n_out"]) -> SequenceOut:
    """All steps' input projection as one `(T * batch, n_in) @ (n_in, n_out)` product."""
    n_steps, batch, n_in = x.shape
    return (x.reshape(n_steps * batch, n_in) @ weights).reshape(n_steps, batch, weights.shape[1])


class AbstractLayer(eqx.Module):
    """A layer of a sequence model: `(T, batch, n_in) -> (T, batch, n_out)`."""

    n_in: eqx.AbstractVar[int]
    n_out: eqx.AbstractVar[int]

    @abc.abstractmethod
    def forward(self, x: SequenceIn) -> SequenceOut:
        """The layer on a time-first, already checked float sequence."""

    def __call__(self, x: ArrayLike, *, batch_first: bool = False) -> Float[Array, "a b n_out"]:
        """Outputs for the sequence `x`: `(T, batch, n_in)` (or `(batch, T, n_in)` with
        `batch_first`) to the same layout with `n_out` features."""
        y = self.forward(check_sequence(x, self.n_in, batch_first, type(self).__name__))
        return jnp.swapaxes(y, 0, 1) if batch_first else y


class RecurrentSpikingLayer(AbstractLayer):
    r"""A population of spiking neurons driven through synapses by its input and, optionally,
    by its own spikes of the previous step (see the module docstring for the step).

    **Fields:**
    - `weights`: input weights $W_\mathrm{in}$, `(n_in, n_out)`, in the synapse's unit (pA with
      the default `CUBA` output) per unit of input.
    - `recurrent_weights`: $W_\mathrm{rec}$, `(n_out, n_out)` (pA per spike), or `None` for a
      feed-forward layer (`SpikingLayer` builds one).
    - `neuron`: a spiking model linear in its state (`bs.LIF`, `bs.ALIF`, ...), default `LIF`,
      or a value model (`bs.ELM`), whose values the layer then emits.
    - `synapse`: `bs.InstantaneousSynapse()` (default: a current for one step) or a linear
      synapse (`bs.ExponentialSynapse(tau=5.0)`).
    - `output`: `bs.CUBA()` (default) or `bs.COBA(e_rev=...)`.
    - `dt`: step, ms; > 0 (default 1 ms).
    - `checkpoint_every`: chunk length of checkpointed BPTT (steps), or `None` for plain BPTT
      (see `brainsim.train.bptt`).
    """

    weights: Float[Array, "n_in n_out"]
    recurrent_weights: Float[Array, "n_from n_to"] | None  # (n_out, n_out), checked below
    neuron: AbstractNeuron = LIF()
    synapse: AbstractSynapse = InstantaneousSynapse()
    output: AbstractOutput = CUBA()
    dt: float = eqx.field(static=True, default=1.0)
    checkpoint_every: int | None = eqx.field(static=True, default=None)

    @property
    def n_in(self) -> int:
        return self.weights.shape[0]

    @property
    def n_out(self) -> int:
        return self.weights.shape[1]

    def __check_init__(self):
        if jnp.ndim(self.weights) != 2:
            raise ValueError(f"`weights` must have shape (n_in, n_out); got {jnp.shape(self.weights)}.")
        n_out = self.weights.shape[1]
        if self.recurrent_weights is not None and jnp.shape(self.recurrent_weights) != (n_out, n_out):
            raise ValueError(
                f"`recurrent_weights` must have shape ({n_out}, {n_out}); got "
                f"{jnp.shape(self.recurrent_weights)}."
            )
        if not self.dt > 0:
            raise ValueError(f"`dt` must be > 0 ms; got {self.dt!r}.")

    def initial_state(self, batch: int, dtype):
        """`(neuron, synapse, spikes)` at rest for `batch` sequences, each leaf `(batch, n_out)`."""
        neuron = _batched(rest_state(self.neuron, self.n_out, dtype), batch)
        synapse = jtu.tree_map(
            lambda a: a.astype(dtype), _batched(self.synapse.init_state(self.n_out), batch)
        )
        return neuron, synapse, jnp.zeros((batch, self.n_out), dtype)

    def cell(
        self, neuron, synapse, drive: Float[Array, " n_out"], t, received=None, *, detach_reset: bool = True
    ):
        """One step of one sequence's population (the `Network` step's phases 2-5 for it):
        `(neuron, synapse, spikes)` after `drive` (summed weights, `(n_out,)`) arrives.
        `detach_reset=False` lets the reset see the spike's surrogate derivative (an `ALIF`'s
        threshold jump; e-prop's adaptive eligibility, `brainsim.train.eprop`). `received`: input
        that arrived by other routes (default: the neuron's `zero_input`), to which the synapse's
        output is added (a second input stream, `brainsim.train.cells`)."""
        synapse = self.synapse.on_events(synapse, drive)
        value = self.synapse.value(synapse)
        if received is None:
            received = self.neuron.zero_input(value.shape[0], value.dtype)
        current = self.output.apply(received, value)
        neuron = exponential_euler_step(self.neuron, t, self.dt, neuron, current)
        neuron, fired = emit(self.neuron, neuron, detach_reset)
        synapse = self.synapse.advance(synapse, t, self.dt)
        return neuron, synapse, fired

    def step(self, state, drive: Float[Array, "batch n_out"], t, received=None):
        """One step of the batch from `state` with the feed-forward drive `drive` (this step's
        input projection): `(state, spikes)`, spikes `(batch, n_out)`."""
        neuron, synapse, spikes = state
        if self.recurrent_weights is not None:
            drive = drive + spikes @ self.recurrent_weights
        neuron, synapse, fired = jax.vmap(self.cell, in_axes=(0, 0, 0, None, 0))(
            neuron, synapse, drive, t, received
        )
        return (neuron, synapse, fired), fired

    def forward(self, x: SequenceIn) -> SequenceOut:
        n_steps, batch, _ = x.shape
        times = jnp.arange(n_steps, dtype=x.dtype) * jnp.asarray(self.dt, x.dtype)
        if _takes_voltage_path(self):
            drive = event_dense_matmul(x, self.weights)
            if takes_native_path(self, x.dtype):
                return native_lif_layer((self.recurrent_weights, drive), self.neuron, self.dt)
            cell_only = eqx.filter(self, eqx.is_array, inverse=True)  # weights enter as `vjp_arg` only
            init = self.initial_state(batch, x.dtype)
            return _voltage_recursion((self.recurrent_weights, drive), cell_only, init, times)

        def project(block):  # hoisted out of the time loop (per chunk when checkpointed)
            x_block, t_block = block
            return _project(x_block, self.weights), t_block

        def body(state, inputs):
            drive, t = inputs
            return self.step(state, drive, t)

        _, spikes = checkpointed_scan(
            body,
            self.initial_state(batch, x.dtype),
            (x, times),
            checkpoint_every=self.checkpoint_every,
            prologue=project,
        )
        return spikes


def _takes_voltage_path(layer: RecurrentSpikingLayer) -> bool:
    """Whether `layer.forward` takes the voltage-recursion path (`_voltage_recursion`): an `LIF`
    (exactly: its membrane potential is the only state that carries a gradient from step to step)
    behind an `InstantaneousSynapse` (no synaptic state survives a step) with a `CUBA` or `COBA`
    output, plain BPTT (`checkpoint_every=None`), and neuron, synapse and output parameters that
    are constants (Python numbers: nothing of theirs is differentiated). Anything else takes the
    generic scan, which differentiates every parameter."""
    constant = not jtu.tree_leaves(eqx.filter((layer.neuron, layer.synapse, layer.output), eqx.is_array))
    return (
        type(layer.neuron) is LIF
        and type(layer.synapse) is InstantaneousSynapse
        and type(layer.output) in (CUBA, COBA)
        and layer.checkpoint_every is None
        and constant
    )


def _voltage_scan(layer: RecurrentSpikingLayer, init, recurrent_weights, drive, times, *, derivatives: bool):
    """The layer's steps (exactly `RecurrentSpikingLayer.step`'s operations): the spikes and,
    with `derivatives`, per step the derivatives of the membrane potential after reset and of the
    spike with respect to the potential before the step and to the step's summed input, each
    `(T, batch, n)` (forward mode through the layer's own `cell`)."""
    cell = jax.vmap(layer.cell, in_axes=(0, 0, 0, None))

    def body(state, inputs):
        drive_t, t = inputs
        neuron, synapse, spikes = state
        current = drive_t if recurrent_weights is None else drive_t + spikes @ recurrent_weights
        neuron_next, synapse_next, fired = cell(neuron, synapse, current, t)
        if not derivatives:
            return (neuron_next, synapse_next, fired), fired

        def v_and_spike(v, current):
            after, _, spike = cell(eqx.tree_at(lambda n: n.v, neuron, v), synapse, current, t)
            return after.v, spike

        ones, zeros = jnp.ones_like(current), jnp.zeros_like(current)
        _, by_v = jax.jvp(v_and_spike, (neuron.v, current), (ones, zeros))
        _, by_current = jax.jvp(v_and_spike, (neuron.v, current), (zeros, ones))
        return (neuron_next, synapse_next, fired), (fired, *by_v, *by_current)

    return jax.lax.scan(body, init, (drive, times))[1]


@eqx.filter_custom_vjp
def _voltage_recursion(weights_and_drive, layer: RecurrentSpikingLayer, init, times):
    r"""The spikes of `layer` (see `_takes_voltage_path`) for the input projection `drive`
    `(T, batch, n)`, with a backward pass that stores five `(T, batch, n)` arrays (the spikes and
    four derivatives) and does one `(batch, n) x (n, n)` product per step.

    Only $v$ carries a gradient across steps and the cell acts neuron by neuron, so with
    $\lambda_t = \partial L/\partial v_t$ (after reset) and
    $\mu_t = \partial L/\partial s_t$ (the output's cotangent plus $g_{t+1} W_\mathrm{rec}^T$),
    the reverse pass is

    $$g_t = \frac{\partial v_t}{\partial I_t}\lambda_t + \frac{\partial s_t}{\partial I_t}\mu_t,
    \qquad \lambda_{t-1} = \frac{\partial v_t}{\partial v_{t-1}}\lambda_t
    + \frac{\partial s_t}{\partial v_{t-1}}\mu_t,$$

    $g_t = \partial L/\partial I_t$ the cotangent of the step's summed input. The four per-neuron
    derivatives are forward-mode derivatives of the layer's own `cell` (surrogate, detached reset
    and refractory hold included), computed for all steps at once outside the loop. The weight
    gradients are then one product each: $\partial L/\partial W_\mathrm{rec} = S_{t-1}^T G$ here
    and $X^T G$ for the input weights (the cotangent of `drive` is $G$).
    """
    recurrent_weights, drive = weights_and_drive
    return _voltage_scan(layer, init, recurrent_weights, drive, times, derivatives=False)


@_voltage_recursion.def_fwd
def _(perturbed, weights_and_drive, layer, init, times):
    spikes, *derivatives = _voltage_scan(layer, init, *weights_and_drive, times, derivatives=True)
    return spikes, (spikes, derivatives)


@_voltage_recursion.def_bwd
def _(residuals, g_spikes, perturbed, weights_and_drive, layer, init, times):
    spikes, derivatives = residuals
    recurrent_weights, _ = weights_and_drive
    g_spikes = jnp.zeros_like(spikes) if g_spikes is None else g_spikes

    def body(carry, inputs):
        lam, from_next = carry
        g_out, dv_dv, ds_dv, dv_di, ds_di = inputs
        mu = g_out + from_next
        g_current = dv_di * lam + ds_di * mu
        lam = dv_dv * lam + ds_dv * mu
        if recurrent_weights is not None:
            from_next = g_current @ recurrent_weights.T
        return (lam, from_next), g_current

    carry = (jnp.zeros_like(spikes[0]), jnp.zeros_like(spikes[0]))
    _, g_currents = jax.lax.scan(body, carry, (g_spikes, *derivatives), reverse=True)
    d_recurrent = None
    if recurrent_weights is not None and perturbed[0]:
        previous = jnp.concatenate([jnp.zeros_like(spikes[:1]), spikes[:-1]])
        n = spikes.shape[-1]
        d_recurrent = previous.reshape(-1, n).T @ g_currents.reshape(-1, n)
    return d_recurrent, g_currents


def _normal_weights(key, shape, scale: float, dtype) -> Array:
    return jr.normal(key, shape, dtype) * (scale / math.sqrt(shape[0]))


def SpikingLayer(
    n_in: int,
    n_out: int,
    *,
    key: PRNGKeyArray,
    neuron: AbstractSpikingNeuron | None = None,
    synapse: AbstractSynapse | None = None,
    output: AbstractOutput | None = None,
    recurrent: bool = False,
    weight_scale: float = 4000.0,
    recurrent_scale: float | None = None,
    dt: float = 1.0,
    checkpoint_every: int | None = None,
    dtype=None,
) -> RecurrentSpikingLayer:
    r"""A spiking layer with random weights: feed-forward, or recurrent with `recurrent=True`.

    Weights are normal with standard deviation `weight_scale / sqrt(n_in)` (pA): the default,
    4000 pA, is the current that charges the default `LIF` ($C_m$ = 200 pF) by its 20 mV from
    rest to threshold in one 1-ms step. Recurrent weights use `recurrent_scale` (default
    `weight_scale`) over `sqrt(n_out)`.

    `neuron`, `synapse` and `output` default to `LIF()`, `InstantaneousSynapse()` and `CUBA()`.

    **Returns:** a `RecurrentSpikingLayer` (with `recurrent_weights=None` when feed-forward).
    """
    neuron = LIF() if neuron is None else neuron
    synapse = InstantaneousSynapse() if synapse is None else synapse
    output = CUBA() if output is None else output
    dtype = jnp.result_type(float) if dtype is None else dtype
    k_in, k_rec = jr.split(key)
    weights = _normal_weights(k_in, (n_in, n_out), weight_scale, dtype)
    rec = None
    if recurrent:
        scale = weight_scale if recurrent_scale is None else recurrent_scale
        rec = _normal_weights(k_rec, (n_out, n_out), scale, dtype)
    return RecurrentSpikingLayer(weights, rec, neuron, synapse, output, dt, checkpoint_every)


class LeakyReadout(AbstractLayer):
    r"""A non-spiking leaky integrator, the usual output layer of a spiking classifier:

    $$\tau \frac{du}{dt} = -u + x_t W + b,$$

    stepped exactly (exponential Euler, the simulator's `exponential_euler_update`) with the
    input held over each step; `u` starts at 0. Outputs $u_t$ (arbitrary units: logits), shape
    `(T, batch, n_out)`; a classifier reads e.g. `u.max(0)` or `u[-1]`.

    **Fields:** `weights` `(n_in, n_out)`, `bias` `(n_out,)`, `tau` (ms, > 0, default 20),
    `dt` (ms, > 0, default 1), `checkpoint_every` (as `RecurrentSpikingLayer`).
    """

    weights: Float[Array, "n_in n_out"]
    bias: Float[Array, " n_out"]
    tau: float = eqx.field(static=True, default=20.0)
    dt: float = eqx.field(static=True, default=1.0)
    checkpoint_every: int | None = eqx.field(static=True, default=None)

    def __init__(
        self,
        n_in: int,
        n_out: int,
        *,
        key: PRNGKeyArray,
        tau: float = 20.0,
        dt: float = 1.0,
        checkpoint_every: int | None = None,
        dtype=None,
    ):
        dtype = jnp.result_type(float) if dtype is None else dtype
        self.weights = _normal_weights(key, (n_in, n_out), 1.0, dtype)
        self.bias = jnp.zeros(n_out, dtype)
        self.tau, self.dt, self.checkpoint_every = tau, dt, checkpoint_every

    def __check_init__(self):
        if not self.tau > 0:
            raise ValueError(f"`tau` must be > 0 ms; got {self.tau!r}.")
        if not self.dt > 0:
            raise ValueError(f"`dt` must be > 0 ms; got {self.dt!r}.")

    @property
    def n_in(self) -> int:
        return self.weights.shape[0]

    @property
    def n_out(self) -> int:
        return self.weights.shape[1]

    def forward(self, x: SequenceIn) -> SequenceOut:
        a = jnp.asarray(-1.0 / self.tau, x.dtype)

        def project(x_block):
            return event_dense_matmul(x_block, self.weights) + self.bias[None, None, :]

        def body(u, drive):
            u = exponential_euler_update(a, u, drive / self.tau, self.dt)
            return u, u

        u0 = jnp.zeros((x.shape[1], self.n_out), x.dtype)
        _, u = checkpointed_scan(body, u0, x, checkpoint_every=self.checkpoint_every, prologue=project)
        return u


class Sequential(AbstractLayer):
    """Layers applied in turn, each over the whole sequence (each hoists its own input
    projection out of its own time loop). **Fields:** `layers`, a tuple of layers whose sizes
    chain (`n_out` of one = `n_in` of the next)."""

    layers: tuple[AbstractLayer, ...]

    def __init__(self, layers):
        self.layers = tuple(layers)

    def __check_init__(self):
        if not self.layers:
            raise ValueError("`Sequential` needs at least one layer.")
        for k, (a, b) in enumerate(zip(self.layers[:-1], self.layers[1:], strict=True)):
            if a.n_out != b.n_in:
                raise ValueError(
                    f"layer {k} has `n_out` = {a.n_out} but layer {k + 1} has `n_in` = {b.n_in}."
                )

    @property
    def n_in(self) -> int:
        return self.layers[0].n_in

    @property
    def n_out(self) -> int:
        return self.layers[-1].n_out

    def forward(self, x: SequenceIn) -> SequenceOut:
        for layer in self.layers:
            x = layer.forward(x)
        return x


def stack(*layers: AbstractLayer) -> Sequential:
    """`Sequential(layers)`: `stack(SpikingLayer(700, 256, ...), LeakyReadout(256, 20, ...))`."""
    return Sequential(layers)
