r"""Layers of neuron models from the literature: the expressive leaky memory neuron (`ELMLayer`)
and the two-compartment pyramidal cell with a top-down input stream (`TwoCompartmentLayer`).

Both step with `RecurrentSpikingLayer`'s own step (its `cell`: synapse `on_events`, output,
exponential Euler, emit, synapse `advance`), so a layer and a `Network` of the same
architecture give the same outputs (the module docstring of `brainsim.train.layers` states the
step and the one-step input delay of a `Network`'s `SpikeSource` projection).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .._validation import require_positive_int
from ..dynamics.neurons.elm import ELM, ELMState
from ..dynamics.neurons.two_compartment import (
    Apical,
    DendriticInput,
    TwoCompartmentLIF,
    TwoCompartmentLIFState,
)
from ..dynamics.synapses.base import CUBA, AbstractSynapse
from ..dynamics.synapses.exponential import ExponentialSynapse
from ..dynamics.synapses.instantaneous import InstantaneousSynapse
from .bptt import checkpointed_scan
from .layers import (
    RecurrentSpikingLayer,
    SequenceIn,
    SequenceOut,
    _batched,
    _normal_weights,
    _project,
    check_sequence,
    rest_state,
)


@rest_state.register
def _(neuron: ELM, n: int, dtype) -> ELMState:
    return ELMState(m=jnp.zeros((n, neuron.n_memory), dtype))


@rest_state.register
def _(neuron: TwoCompartmentLIF, n: int, dtype) -> TwoCompartmentLIFState:
    rest = jnp.full(n, neuron.e_leak, dtype)
    return TwoCompartmentLIFState(v=rest, v_dendrite=rest, refractory=jnp.zeros(n, dtype))


def ELMLayer(
    n_in: int,
    n_out: int,
    *,
    key: PRNGKeyArray,
    n_memory: int = 10,
    synapse_tau: float = 5.0,
    tau_min: float = 1.0,
    tau_max: float = 1000.0,
    hidden: int | None = None,
    memory_scale: float = 5.0,
    weight_scale: float = 1.0,
    dt: float = 1.0,
    checkpoint_every: int | None = None,
    dtype=None,
) -> RecurrentSpikingLayer:
    r"""`n_out` expressive leaky memory neurons (`bs.ELM`, one shared parameter set) fed by
    `n_in` inputs through exponential synapses: $I_t = \sum_i w_{ij} s_{t,i}$ with
    $s_t = e^{-\Delta t/\tau_s} s_{t-1} + x_t$ (the paper's synaptic traces and weights $w_s$),
    emitting each neuron's $y_t$ (dimensionless), shape `(T, batch, n_out)`.

    **Arguments:** `n_in`, `n_out` (>= 1); `key`; `n_memory`, `tau_min`, `tau_max`, `hidden`,
    `memory_scale` (as `bs.ELM`); `synapse_tau` ($\tau_s$, ms, default 5 as the paper);
    `weight_scale` (input weights are normal with standard deviation
    `weight_scale / sqrt(n_in)`); `dt` (ms); `checkpoint_every` (as `RecurrentSpikingLayer`);
    `dtype`.

    **Returns:** a `RecurrentSpikingLayer` whose neuron is the `ELM` (feed-forward).
    """
    n_in, n_out = require_positive_int("n_in", n_in), require_positive_int("n_out", n_out)
    dtype = jnp.result_type(float) if dtype is None else dtype
    k_w, k_elm = jr.split(key)
    neuron = ELM(
        n_memory,
        key=k_elm,
        tau_min=tau_min,
        tau_max=tau_max,
        hidden=hidden,
        memory_scale=memory_scale,
        dtype=dtype,
    )
    weights = _normal_weights(k_w, (n_in, n_out), weight_scale, dtype)
    synapse = ExponentialSynapse(tau=synapse_tau)
    return RecurrentSpikingLayer(weights, None, neuron, synapse, CUBA(), dt, checkpoint_every)


class TwoCompartmentLayer(eqx.Module):
    r"""A layer of two-compartment neurons (`bs.TwoCompartmentLIF`) with two input streams:
    `x` reaches the somata (basal synapses), `feedback` the apical dendrites (top-down). Step
    $t$: the apical synapses receive $f_t W_a$, their output enters the dendrites (`Apical`),
    then the soma layer steps as `RecurrentSpikingLayer` with $x_t W$ (and its own spikes
    of $t - 1$ when recurrent).

    **Fields:**
    - `soma`: a `RecurrentSpikingLayer` whose `neuron` takes a `DendriticInput` (a
      `TwoCompartmentLIF`; the basal
      weights `(n_in, n_out)`, synapse, somatic output, `dt`, `checkpoint_every`).
    - `apical_weights`: $W_a$, `(n_top, n_out)`, pA (nS with `Apical(COBA(...))`) per unit of
      feedback.
    - `apical_synapse`: the apical synapses (default `InstantaneousSynapse()`).
    - `apical_output`: `Apical(CUBA())` (default) or `Apical(COBA(e_rev=...))`.

    Call as `layer(x, feedback)`: `x` `(T, batch, n_in)`, `feedback` `(T, batch, n_top)` (or
    both batch first with `batch_first=True`); returns somatic spikes `(T, batch, n_out)`.
    """

    soma: RecurrentSpikingLayer
    apical_weights: Float[Array, "n_top n_out"]
    apical_synapse: AbstractSynapse = InstantaneousSynapse()
    apical_output: Apical = Apical()

    def __check_init__(self):
        if not isinstance(self.soma.neuron.zero_input(1, jnp.float32), DendriticInput):
            raise TypeError(
                "`soma.neuron` must take apical input (its `zero_input` a `DendriticInput`, as "
                f"`TwoCompartmentLIF`); got {type(self.soma.neuron).__name__}."
            )
        if jnp.ndim(self.apical_weights) != 2 or jnp.shape(self.apical_weights)[1] != self.soma.n_out:
            raise ValueError(
                f"`apical_weights` must have shape (n_top, {self.soma.n_out}); got "
                f"{jnp.shape(self.apical_weights)}."
            )

    @property
    def n_in(self) -> int:
        return self.soma.n_in

    @property
    def n_top(self) -> int:
        return self.apical_weights.shape[0]

    @property
    def n_out(self) -> int:
        return self.soma.n_out

    def __call__(
        self, x: ArrayLike, feedback: ArrayLike, *, batch_first: bool = False
    ) -> Float[Array, "a b n_out"]:
        """Somatic spikes for basal input `x` and apical input `feedback` (same `T` and batch)."""
        who = type(self).__name__
        x = check_sequence(x, self.n_in, batch_first, who)
        feedback = check_sequence(feedback, self.n_top, batch_first, f"{who} (`feedback`)")
        if feedback.shape[:2] != x.shape[:2]:
            raise ValueError(
                f"{who}: `feedback` has (T, batch) = {feedback.shape[:2]} but `x` has {x.shape[:2]}."
            )
        y = self.forward(x, feedback)
        return jnp.swapaxes(y, 0, 1) if batch_first else y

    def forward(self, x: SequenceIn, feedback: Float[Array, "time batch n_top"]) -> SequenceOut:
        """The layer on time-first, already checked sequences."""
        n_steps, batch, _ = x.shape
        times = jnp.arange(n_steps, dtype=x.dtype) * jnp.asarray(self.soma.dt, x.dtype)
        n = self.n_out

        def apical_input(synapse_state, top):
            synapse_state = self.apical_synapse.on_events(synapse_state, top)
            received = self.soma.neuron.zero_input(n, top.dtype)
            return synapse_state, self.apical_output.apply(received, self.apical_synapse.value(synapse_state))

        def project(block):  # both input projections hoisted out of the time loop
            x_block, f_block, t_block = block
            return _project(x_block, self.soma.weights), _project(f_block, self.apical_weights), t_block

        def body(state, inputs):
            soma_state, apical_state = state
            basal, top, t = inputs
            apical_state, received = jax.vmap(apical_input)(apical_state, top)
            soma_state, spikes = self.soma.step(soma_state, basal, t, received)
            apical_state = jax.vmap(self.apical_synapse.advance, in_axes=(0, None, None))(
                apical_state, t, self.soma.dt
            )
            return (soma_state, apical_state), spikes

        apical0 = jtu.tree_map(
            lambda a: a.astype(x.dtype), _batched(self.apical_synapse.init_state(n), batch)
        )
        state0 = (self.soma.initial_state(batch, x.dtype), apical0)
        _, spikes = checkpointed_scan(
            body,
            state0,
            (x, feedback, times),
            checkpoint_every=self.soma.checkpoint_every,
            prologue=project,
        )
        return spikes
