r"""Hardware-constrained simulation: run a network the way a chip would, and measure what changes.

What is modelled (each one a separate, composable function):

- **Weight quantisation** (`quantise_weights`): weights become $w_q = s\,\mathrm{round}(w/s)$ with
  one fixed-point scale for the whole network, $s = \max|w| / (2^{b} - 1)$ for `bits` = $b$
  magnitude bits (the sign is carried by the projection, as excitatory and inhibitory COBA
  synapses carry it in their reversal potential; `assumed`: per-core weight exponents, as on
  Loihi, are not modelled). Values that round to 0 vanish.
- **Fan-in limits** (`enforce_fan_in`): a neuron keeps at most `max_fan_in` distinct
  presynaptic sources (the largest |w| first); the rest are set to weight 0 and counted.
- **NoC latency as delay** (`add_noc_delay`): a spike whose route takes longer than one step
  arrives $\lfloor T_\mathrm{path}/dt \rfloor$ steps later; clocked chips (TrueNorth,
  SpiNNaker) deliver at the next tick, $\mathrm{round}(T_\mathrm{tick}/dt) - 1$ extra steps.
  Applied per projection as its largest extra delay (conservative).
- **Divergence** (`spike_divergence`): per-population rate change, per-neuron rate RMS
  difference, and the spike coincidence $\kappa$: the fraction of spikes with a spike of the
  same neuron within `window_ms` in the other run (averaged over both directions).

Not modelled: fixed-point neuron state (Loihi's 24-bit membrane and 12-bit decay constants) and
TrueNorth's 4-weights-per-neuron rule. Use `brainsim.hardware.cost_report` for costs.
"""

import copy
import math
from dataclasses import dataclass, field

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from .chips import Chip
from .mapping import Mapping, map_network
from .network_graph import from_synapse_graph, rates_from_spikes
from .route import hop_counts


def _weight_leaves(network):
    return [p.connectivity.weights for p in network.projections]


def _set_weights(network, new_weights):
    return eqx.tree_at(lambda n: [p.connectivity.weights for p in n.projections], network, list(new_weights))


def quantise_weights(network, bits: int) -> tuple[object, dict]:
    """Quantise every projection's weights to `bits` magnitude bits on one shared scale.

    **Arguments:**
    - `network`: a `brainsim.Network` whose connectivity formats have a `weights` field.
    - `bits`: magnitude bits, an integer in [1, 32].

    **Returns:** `(network, info)` with `info` = {`bits`, `scale`, `relative_error` per
    projection (max |w_q - w| / |w|), `zeroed` per projection (weights that became 0)}.
    """
    if not isinstance(bits, int) or isinstance(bits, bool) or not 1 <= bits <= 32:
        raise ValueError(f"`bits` must be an integer in [1, 32]; got {bits!r}.")
    leaves = _weight_leaves(network)
    w_max = max((float(np.max(np.abs(np.asarray(w)))) for w in leaves if np.size(w)), default=0.0)
    if w_max == 0.0:
        return network, {"bits": bits, "scale": 0.0, "relative_error": {}, "zeroed": {}}
    scale = w_max / (2**bits - 1)
    new, rel, zeroed = [], {}, {}
    for proj, w in zip(network.projections, leaves, strict=True):  # loop over projections
        wq = jnp.round(w / scale) * scale
        wn, wqn = np.asarray(w), np.asarray(wq)
        nz = wn != 0
        rel[proj.name] = float(np.max(np.abs(wqn[nz] - wn[nz]) / np.abs(wn[nz]))) if nz.any() else 0.0
        zeroed[proj.name] = int(np.sum(nz & (wqn == 0)))
        new.append(wq.astype(jnp.asarray(w).dtype))
    return _set_weights(network, new), {"bits": bits, "scale": scale, "relative_error": rel, "zeroed": zeroed}


def _stored_posts(conn):
    """Postsynaptic index of every stored weight (`-1` where a slot holds no synapse), shaped
    like per-synapse weights (`brainsim.ops.stored_synapses`)."""
    from ..ops import stored_synapses

    _, post, valid = stored_synapses(conn)
    return np.where(valid, post, -1)


def enforce_fan_in(network, max_fan_in: int) -> tuple[object, int]:
    """Keep at most `max_fan_in` synapses into each neuron (largest |w| first); zero the rest.

    Counts synapses across all projections into a population (per-synapse, so repeated
    sources count more than once: an upper bound on distinct axons).

    **Returns:** `(network, n_dropped)`.
    """
    if not isinstance(max_fan_in, int) or max_fan_in < 1:
        raise ValueError(f"`max_fan_in` must be an integer >= 1; got {max_fan_in!r}.")
    posts, mags, sizes = [], [], []
    for proj in network.projections:
        w = np.asarray(proj.connectivity.weights)
        post = _stored_posts(proj.connectivity)
        posts.append(post.ravel())
        mags.append(np.broadcast_to(np.abs(w), post.shape).ravel())
        sizes.append(post.size)
    pop_names = [p.post for p in network.projections]
    keep_all = []
    for target in set(pop_names):  # loop over postsynaptic populations
        idx = [k for k, name in enumerate(pop_names) if name == target]
        post = np.concatenate([posts[k] for k in idx])
        mag = np.concatenate([mags[k] for k in idx])
        order = np.lexsort((-mag, post))
        rank = np.empty(post.size, np.int64)
        sorted_post = post[order]
        first = np.searchsorted(sorted_post, sorted_post)
        rank[order] = np.arange(post.size) - first
        keep = (rank < max_fan_in) | (post < 0)
        bounds = np.cumsum([0] + [sizes[k] for k in idx])
        keep_all += [(k, keep[bounds[j] : bounds[j + 1]]) for j, k in enumerate(idx)]
    keep_by = dict(keep_all)
    dropped = sum(int((~keep_by[k]).sum()) for k in keep_by)
    if dropped == 0:
        return network, 0
    new = []
    for k, proj in enumerate(network.projections):
        w = jnp.asarray(proj.connectivity.weights)
        shape = _stored_posts(proj.connectivity).shape
        new.append(
            jnp.where(jnp.asarray(keep_by[k].reshape(shape)), jnp.broadcast_to(w, shape), 0.0).astype(w.dtype)
        )
    return _set_weights(network, new), dropped


def _with_delay(proj, delay: int):
    out = copy.copy(proj)
    object.__setattr__(out, "delay_steps", int(delay))  # a static field; the network sizes buffers from it
    return out


def noc_extra_delay(network, mapping: Mapping, dt: float) -> dict[str, int]:
    """Extra delay steps per projection that the chip's network-on-chip adds (see module doc)."""
    if not dt > 0:
        raise ValueError(f"`dt` must be > 0 ms; got {dt!r}.")
    chip = mapping.chip
    sg = network.synapse_graph()
    offsets = sg.offsets
    xy = chip.core_xy
    out = {}
    for pg in sg.projections:  # loop over projections
        if chip.fixed_step is not None:
            out[pg.name] = max(int(round(chip.fixed_step.value / dt)) - 1, 0)
            continue
        src = mapping.core_of[pg.pre + offsets[pg.pre_population]]
        dst = mapping.core_of[pg.post + offsets[pg.post_population]]
        hx, hy, hd = hop_counts(chip, xy[src], xy[dst])
        t_ns = chip.t_local.or_zero() + chip.t_x.or_zero() * (hx + hd) + chip.t_y.or_zero() * hy
        out[pg.name] = int(math.floor(float(t_ns.max(initial=0.0)) * 1e-6 / dt))
    return out


def add_noc_delay(network, extra: dict[str, int]):
    """`network` with each projection's homogeneous delay raised by `extra[name]` steps.

    Projections with per-synapse delays are left unchanged (their extra is reported only)."""
    projs = tuple(
        _with_delay(p, p.delay_steps + extra.get(p.name, 0))
        if p.synapse_delays is None and extra.get(p.name, 0)
        else p
        for p in network.projections
    )
    return eqx.tree_at(lambda n: n.projections, network, projs)


@dataclass(frozen=True)
class Divergence:
    """How far a hardware run drifted from the ideal one.

    **Fields:** `rates_ideal`, `rates_hardware` (Hz per population), `rate_change` (relative,
    per population), `rate_rms_hz` (per-neuron rate difference, RMS over neurons),
    `coincidence` (fraction of spikes matched within `window_ms`, 1 = identical trains),
    `divergence` (= 1 - coincidence), `window_ms`.
    """

    rates_ideal: dict
    rates_hardware: dict
    rate_change: dict
    rate_rms_hz: float
    coincidence: float
    divergence: float
    window_ms: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _matched(a_t, a_i, b_t, b_i, window, span):
    if a_t.size == 0:
        return 0
    if b_t.size == 0:
        return 0
    key_b = np.sort(b_i * span + b_t)
    key_a = a_i * span + a_t
    pos = np.searchsorted(key_b, key_a - window)
    pos = np.minimum(pos, key_b.size - 1)
    return int(np.sum(np.abs(key_b[pos] - key_a) <= window))


def spike_divergence(ideal, hardware, graph=None, *, window_ms: float = 2.0) -> Divergence:
    """Compare two simulation results of the same network (see the module docstring).

    **Arguments:**
    - `ideal`, `hardware`: results with `.spikes[name]` (`times` in ms, `indices`) and `.duration`.
    - `graph`: the network's `SynapseGraph` (for population sizes); default from `ideal`.
    - `window_ms`: coincidence window, ms, > 0.

    **Returns:** a `Divergence`.
    """
    if not window_ms > 0:
        raise ValueError(f"`window_ms` must be > 0 ms; got {window_ms!r}.")
    names = list(ideal.spikes)
    rates_i = {n: float(np.asarray(ideal.spikes[n].indices).size) for n in names}
    rates_h = {
        n: float(np.asarray(hardware.spikes[n].indices).size) if n in hardware.spikes else 0.0 for n in names
    }
    sizes = ideal.population_sizes
    rates_i = {n: rates_i[n] / sizes[n] / (ideal.duration * 1e-3) for n in names}
    rates_h = {n: rates_h[n] / sizes[n] / (hardware.duration * 1e-3) for n in names}
    change = {
        n: (rates_h[n] - rates_i[n]) / rates_i[n] if rates_i[n] > 0 else float("inf") * (rates_h[n] > 0)
        for n in names
    }
    span = float(max(ideal.duration, hardware.duration)) + 10 * window_ms
    sq, n_tot, matched, total = 0.0, 0, 0, 0
    for n in names:  # loop over populations
        a_t, a_i = np.asarray(ideal.spikes[n].times, float), np.asarray(ideal.spikes[n].indices, np.int64)
        b_t, b_i = (
            np.asarray(hardware.spikes[n].times, float),
            np.asarray(hardware.spikes[n].indices, np.int64),
        )
        ra = np.bincount(a_i, minlength=sizes[n])[: sizes[n]] / (ideal.duration * 1e-3)
        rb = np.bincount(b_i, minlength=sizes[n])[: sizes[n]] / (hardware.duration * 1e-3)
        sq += float(np.sum((ra - rb) ** 2))
        n_tot += sizes[n]
        matched += _matched(a_t, a_i, b_t, b_i, window_ms, span) + _matched(
            b_t, b_i, a_t, a_i, window_ms, span
        )
        total += a_t.size + b_t.size
    coincidence = matched / total if total else 1.0
    return Divergence(
        rates_i, rates_h, change, math.sqrt(sq / max(n_tot, 1)), coincidence, 1.0 - coincidence, window_ms
    )


@dataclass(frozen=True)
class ConstrainedRun:
    """Result of `constrained_simulation`: the two runs, what was changed, and the divergence.

    **Fields:** `ideal`, `hardware` (simulation results), `mapping`, `weights` (quantisation
    info), `dropped_synapses`, `extra_delay_steps` (per projection), `divergence`, `notes`.
    """

    ideal: object
    hardware: object
    mapping: Mapping | None
    weights: dict
    dropped_synapses: int
    extra_delay_steps: dict
    divergence: Divergence
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        """JSON-serialisable summary (no spike trains)."""
        return {
            "chip": None if self.mapping is None else self.mapping.chip.name,
            "weights": self.weights,
            "dropped_synapses": self.dropped_synapses,
            "extra_delay_steps": self.extra_delay_steps,
            "divergence": self.divergence.to_dict(),
            "notes": list(self.notes),
        }


def constrained_simulation(
    network,
    chip: Chip,
    duration: float,
    dt: float = 0.1,
    *,
    key,
    weight_bits: int | None = None,
    mapper: str = "traffic",
    seed: int = 0,
    max_fan_in: int | None = None,
    window_ms: float = 2.0,
    ideal=None,
) -> ConstrainedRun:
    """Simulate `network` ideally and as `chip` would run it, and compare.

    **Arguments:**
    - `network`: a `brainsim.Network`.
    - `chip`: the platform (its `weight_bits` unless `weight_bits` is given).
    - `duration`, `dt`: ms, as `brainsim.simulate`.
    - `key`: JAX key shared by both runs (same initial state and inputs).
    - `weight_bits`: magnitude bits for the weights (default `chip.weight_bits`).
    - `mapper`, `seed`: how to map the network (for the NoC delays).
    - `max_fan_in`: synapses kept per neuron (default: the chip's in-axon limit, if any).
    - `window_ms`: coincidence window for the divergence.
    - `ideal`: a precomputed ideal result (skips that run).

    **Returns:** a `ConstrainedRun`.
    """
    from ..simulate import simulate

    notes = ["fixed-point neuron state is not modelled"]
    bits = chip.weight_bits if weight_bits is None else weight_bits
    ideal = simulate(network, duration, dt, key=key) if ideal is None else ideal
    sg = network.synapse_graph()
    graph = from_synapse_graph(sg, rates_from_spikes(sg, ideal))
    mapping = map_network(graph, chip, mapper, seed=seed)
    if mapping.violations:
        notes.append(f"the mapping breaks {len(mapping.violations)} limits (e.g. {mapping.violations[0]})")
    hw_net, info = quantise_weights(network, bits)
    limit = (
        max_fan_in
        if max_fan_in is not None
        else (int(chip.in_axons_per_core.value) if chip.in_axons_per_core is not None else None)
    )
    dropped = 0
    if limit is not None:
        hw_net, dropped = enforce_fan_in(hw_net, limit)
    extra = noc_extra_delay(network, mapping, dt)
    hw_net = add_noc_delay(hw_net, extra)
    hardware = simulate(hw_net, duration, dt, key=key)
    div = spike_divergence(ideal, hardware, window_ms=window_ms)
    return ConstrainedRun(ideal, hardware, mapping, info, dropped, extra, div, tuple(notes))
