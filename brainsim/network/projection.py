"""`Projection`: `pre -> delay -> connectivity -> synapse -> output -> post`."""

from typing import Any

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from .._validation import require_positive_int
from ..connect import AbstractConnectivityRule, AbstractDelayRule
from ..connect._keys import fold_in, zero_key
from ..dynamics import AbstractOutput, AbstractSynapse
from ..dynamics.plasticity import AbstractPlasticityRule, AbstractShortTermPlasticity
from ..ops import CSR, ELL, AbstractConnectivity, Dense, stored_synapses
from ..ops.synapse_update import ColumnIndex, column_index
from ._frozen import FrozenState, freeze


class Projection(eqx.Module):
    """Synapses from population `pre` to population `post`.

    **Fields:**
    - `pre`, `post`: population names.
    - `connectivity`: a format (`CSR`, `ELL`, `Dense`, ...) or a rule (`FixedProbability`, ...)
      that the `Network` builds with its key. Weights are in the synapse's unit: nS for `COBA`
      outputs (>= 0: inhibition is a negative reversal potential, not a negative weight), pA
      for `CUBA`; per unit of the presynaptic value for value-emitting populations (pA/Hz from
      a `RateUnit`).
    - `synapse`: the synapse model (state per postsynaptic neuron).
    - `output`: `COBA(e_rev)` or `CUBA()`.
    - `delay_steps`: transmission delay, in time steps (multiply by `dt` for ms), >= 1 (1 = a
      spike emitted in step t acts in step t + 1): an int for all synapses, or per synapse a
      delay rule (`ConstantDelay`, `UniformDelay`, `DistanceDelay`, drawn by the `Network`, in
      steps) or an int array shaped like the format's synapses.
    - `max_delay_steps`: per-synapse delays only: the ring-buffer length, steps; default the
      longest delay drawn. Longer delays are rejected.
    - `plastic`: `True` to keep the weights in the `NetworkState` (`state.projections[name].weights`,
      initialised from the connectivity's weights) instead of the parameters, so that they
      can change during and between runs. Implied by `plasticity`.
    - `plasticity`: a long-term plasticity rule (`PairSTDP`, `TripletSTDP`, ...) that changes
      the weights during the run, event-driven: a presynaptic spike moves the synapses of its
      row when it *arrives* (after `delay_steps`, as Brian2's `on_pre` with a delay), a
      postsynaptic spike the synapses of its column when it is emitted. Needs `CSR`, `ELL` or
      `Dense` connectivity and one `delay_steps`.
    - `short_term`: short-term plasticity (`TsodyksMarkram`): each arriving spike acts with its
      weight times the efficacy of its presynaptic neuron. Needs one `delay_steps`.
    - `name`: unique name; default `"pre->post"` (give `name=` to tell apart two projections
      between the same populations).
    - `initial_state`: the synapse state at t = 0, or `None` for the synapse at rest (held
      outside the parameter pytree, as `Population.initial_state`).
    """

    pre: str = eqx.field(static=True)
    post: str = eqx.field(static=True)
    connectivity: Any
    synapse: AbstractSynapse
    output: AbstractOutput
    delay_steps: int | None = eqx.field(static=True)
    synapse_delays: Any
    max_delay_steps: int | None = eqx.field(static=True)
    plastic: bool = eqx.field(static=True)
    name: str = eqx.field(static=True)
    initial_state: FrozenState | None = eqx.field(static=True)
    plasticity: AbstractPlasticityRule | None
    short_term: AbstractShortTermPlasticity | None
    column_index: ColumnIndex | None

    def __init__(
        self,
        pre,
        post,
        connectivity,
        synapse,
        output,
        *,
        delay_steps=1,
        max_delay_steps=None,
        plastic=None,
        name=None,
        initial_state=None,
        plasticity=None,
        short_term=None,
        column_index=None,
    ):
        for role, value in (("pre", pre), ("post", post)):
            if not isinstance(value, str) or not value:
                raise TypeError(f"`{role}` must be a population name; got {value!r}.")
        self.pre, self.post = pre, post
        if not isinstance(connectivity, AbstractConnectivity | AbstractConnectivityRule):
            raise TypeError(
                "`connectivity` must be a connectivity format (e.g. `bs.CSR`) or rule (e.g. "
                f"`bs.FixedProbability(0.02, weight=6.0)`); got {type(connectivity).__name__}."
            )
        if not isinstance(synapse, AbstractSynapse):
            raise TypeError(f"`synapse` must be a synapse model; got {type(synapse).__name__}.")
        if not isinstance(output, AbstractOutput):
            raise TypeError(f"`output` must be `bs.COBA(...)` or `bs.CUBA()`; got {output!r}.")
        if plasticity is not None and not isinstance(plasticity, AbstractPlasticityRule):
            raise TypeError(
                "`plasticity` must be a plasticity rule (e.g. `bs.PairSTDP()`); got "
                f"{type(plasticity).__name__}."
            )
        if short_term is not None and not isinstance(short_term, AbstractShortTermPlasticity):
            raise TypeError(
                "`short_term` must be a short-term plasticity model (e.g. `bs.TsodyksMarkram()`); got "
                f"{type(short_term).__name__}."
            )
        if plastic is None:
            plastic = plasticity is not None
        if not isinstance(plastic, bool):
            raise TypeError(f"`plastic` must be True or False; got {plastic!r}.")
        if plasticity is not None and not plastic:
            raise ValueError(
                "a projection with a `plasticity` rule keeps its weights in the state: drop `plastic=False`."
            )
        self.connectivity, self.synapse, self.output, self.plastic = connectivity, synapse, output, plastic
        self.plasticity, self.short_term, self.column_index = plasticity, short_term, column_index
        per_synapse = isinstance(delay_steps, AbstractDelayRule | np.ndarray) or eqx.is_array(delay_steps)
        if per_synapse:
            self.synapse_delays = (
                delay_steps if isinstance(delay_steps, AbstractDelayRule) else jnp.asarray(delay_steps)
            )
            self.delay_steps = None
            self.max_delay_steps = (
                None if max_delay_steps is None else require_positive_int("max_delay_steps", max_delay_steps)
            )
        else:
            if max_delay_steps is not None:
                raise ValueError("`max_delay_steps` applies to per-synapse delays only.")
            self.synapse_delays = None
            self.delay_steps = require_positive_int("delay_steps", delay_steps)
            self.max_delay_steps = None
        self.name = f"{pre}->{post}" if name is None else name
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"`name` must be a non-empty string; got {name!r}.")
        self.initial_state = freeze(initial_state, f"`initial_state` of projection `{self.name}`")


def build_projection(proj: Projection, sizes: dict[str, int], key, index: int) -> Projection:
    """The projection with its connectivity rule built and its delay rule drawn (host work)."""
    conn = proj.connectivity
    if isinstance(conn, AbstractConnectivityRule):
        if key is None and conn.random:
            raise ValueError(
                f"projection `{proj.name}` has a random connectivity rule; pass `key=` to "
                "`Network` so it can be built."
            )
        # Keys derived on the host (bit-identical to `jr.fold_in`): no eager compilation.
        rule_key = zero_key() if key is None else fold_in(key, index)  # unused if not random
        conn = conn.build(sizes[proj.pre], sizes[proj.post], key=rule_key)
    if (conn.n_pre, conn.n_post) != (sizes[proj.pre], sizes[proj.post]):
        raise ValueError(
            f"projection `{proj.name}`: connectivity is {conn.n_pre} x {conn.n_post} but the "
            f"populations have {sizes[proj.pre]} and {sizes[proj.post]} neurons."
        )
    proj = eqx.tree_at(lambda p: p.connectivity, proj, conn)
    if proj.synapse_delays is not None:
        proj = _with_drawn_delays(proj, key, index)
    if proj.plasticity is not None and proj.column_index is None:
        proj = _with_column_index(proj)
    return proj


def _with_column_index(proj: Projection) -> Projection:
    """Index the synapses by postsynaptic neuron (host work, once) so postsynaptic spikes update
    their columns without touching other synapses."""
    if not isinstance(proj.connectivity, CSR | ELL | Dense):
        raise TypeError(
            f"projection `{proj.name}`: the plasticity rule {type(proj.plasticity).__name__} needs "
            f"per-synapse weights, which `{type(proj.connectivity).__name__}` connectivity cannot "
            "hold; use `CSR`, `ELL` or `Dense` (e.g. `bs.FixedProbability(..., format=\"csr\")`)."
        )
    index = column_index(proj.connectivity)
    return eqx.tree_at(lambda p: p.column_index, proj, index, is_leaf=lambda x: x is None)


def _with_drawn_delays(proj: Projection, key, index: int) -> Projection:
    """Draw a delay rule (or check a given array) against the built connectivity, and set the
    ring-buffer length; delays outside [1, max_delay_steps] are rejected."""
    conn, delays = proj.connectivity, proj.synapse_delays
    if isinstance(delays, AbstractDelayRule):
        if key is None:
            raise ValueError(
                f"projection `{proj.name}` has a delay rule; pass `key=` to `Network` so it can be drawn."
            )
        delays = delays.draw(conn, key=fold_in(fold_in(key, index), 1))
    if not isinstance(conn, CSR | ELL):
        raise ValueError(
            f"projection `{proj.name}`: per-synapse delays need `CSR` or `ELL` connectivity; got "
            f"{type(conn).__name__}."
        )
    _, _, valid = stored_synapses(conn)
    if np.shape(delays) != valid.shape:
        raise ValueError(
            f"projection `{proj.name}`: per-synapse delays must have the connectivity's synapse "
            f"shape {valid.shape}; got {np.shape(delays)}."
        )
    concrete = np.asarray(delays)[valid]
    longest = int(concrete.max(initial=1))
    ring = proj.max_delay_steps or longest
    if concrete.size and (concrete.min() < 1 or longest > ring):
        raise ValueError(
            f"projection `{proj.name}`: delays must be in [1, {ring}] steps (`max_delay_steps`, "
            f"the ring-buffer length); got {int(concrete.min())}..{longest}. Raise "
            "`max_delay_steps` or shorten the delays."
        )
    return Projection(
        proj.pre,
        proj.post,
        conn,
        proj.synapse,
        proj.output,
        delay_steps=np.asarray(delays, np.int32),
        max_delay_steps=ring,
        plastic=proj.plastic,
        name=proj.name,
        initial_state=proj.initial_state,
        plasticity=proj.plasticity,
        short_term=proj.short_term,
        column_index=proj.column_index,
    )
