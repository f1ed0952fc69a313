r"""Branching ratio by perturbation: seed spikes into a network and count their descendants.

The branching ratio $m$ is the mean number of spikes that one spike causes in the next
generation. `branching_ratio` (multistep regression) infers it from ongoing activity, which
needs a stationary, driven process; this estimator measures it directly, by perturbation, and
reads $m > 1$ in a supercritical network as well as $m < 1$ in a subcritical one.

In each of $n$ trials, $Z_0$ spikes are seeded into `population` (distinct neurons, drawn
uniformly) and the network is run for $K$ generations of $\Delta$ ms (`generation_ms`, about
one synaptic delay plus the time a neuron takes to fire after its input). A control run with
the same key and no seed is subtracted, so $Z_k$, the spikes in generation bin $k$
($(k-1)\Delta < t \le k\Delta$ after the seed), counts only the seed's descendants (the
control is silent when the network starts at rest without drive). For a branching
(Galton–Watson) process $\mathrm{E}[Z_{k+1} \mid Z_k] = m Z_k$, hence the Harris estimator,
pooled over generations and trials $i$,

$$\hat m = \frac{\sum_i \sum_{k=1}^{K} Z_{i,k}}{\sum_i \sum_{k=0}^{K-1} Z_{i,k}},
\qquad \mathrm{SE}(\hat m) = \frac{1}{\bar D}
\sqrt{\frac{\sum_i (N_i - \hat m D_i)^2}{n (n - 1)}},$$

with $N_i$ and $D_i$ trial $i$'s numerator and denominator (the standard error of a ratio
estimator over independent trials). A spike whose descendants fall into a later bin (timing
jitter) moves counts between adjacent sums without changing their totals: in a subcritical
network followed to extinction ($K \to \infty$) both sums become the total progeny $T$ and
$\hat m \to (T - Z_0)/T = m$ whatever the binning.

**Assumptions.** The estimate is that of the state the trials start from: start from rest
with the external drive removed for the classic (quiescent) definition, or from a driven state
to measure the response to a perturbation there. Activity stays small over the $K$
generations: $Z_0 m^K$ spikes must be few compared with the population, or collisions (two
parents exciting one neuron) and refractoriness make $\hat m$ read low. Weights do not change
during the trials (plastic projections are refused). Only `population`'s spikes are counted.
The seeds are delivered as spikes that `population` emitted in the step before the run,
through each of its outgoing projections after that projection's delay; the seeded neurons
themselves are not reset or made refractory.

??? cite "Reference"
    ```bibtex
    @book{harris1963theory,
      author = {Harris, Theodore E.},
      title = {The Theory of Branching Processes},
      publisher = {Springer}, address = {Berlin}, year = {1963}}
    ```
"""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import PRNGKeyArray

from .._validation import require_positive, require_positive_int
from ..dynamics import AbstractSpikingNeuron
from ..network import Network, NetworkState
from ..run import check_initial_state, check_key, run


@dataclasses.dataclass(frozen=True)
class SeededBranchingRatio:
    """The seeded (perturbation) estimate of the branching ratio.

    **Fields:**
    - `m`: $\\hat m$, descendants per spike per generation (dimensionless, >= 0).
    - `standard_error`: the standard error of $\\hat m$ over trials.
    - `generations`: float array `(n_generations + 1,)`, the mean $Z_k$ per trial; entry 0 is
      the number of seeds.
    - `n_trials`: the number of seeded trials.
    - `generation_ms`: the generation bin $\\Delta$, ms.
    """

    m: float
    standard_error: float
    generations: np.ndarray
    n_trials: int
    generation_ms: float

    def __repr__(self) -> str:
        return (
            f"SeededBranchingRatio(m={self.m:.4f} ± {self.standard_error:.4f} (seeded, "
            f"{self.n_trials} trials, {self.generations.size - 1} generations of {self.generation_ms:g} ms))"
        )


def seeded_branching_ratio(
    network: Network,
    population: str,
    *,
    generation_ms: float,
    n_generations: int = 5,
    n_seeds: int = 1,
    n_trials: int = 100,
    dt: float = 0.1,
    initial_state: NetworkState | None = None,
    key: PRNGKeyArray,
) -> SeededBranchingRatio:
    r"""The mean number of descendants per spike, by seeding spikes (see the module docstring).

    **Arguments:**
    - `network`: a `Network` without plastic projections (weights frozen: to measure a
      trained network, put the learnt weights into a copy without `plasticity`).
    - `population`: the spiking population seeded and counted; it needs an outgoing projection
      with one `delay_steps` (the seeds enter through its spike history).
    - `generation_ms`: the generation bin $\Delta$, ms; a positive multiple of `dt`, at least
      the delay plus the time one input takes to make a neuron fire.
    - `n_generations`: $K$, >= 1.
    - `n_seeds`: $Z_0$, spikes seeded per trial, in [1, size of `population`].
    - `n_trials`: trials, >= 2; each runs a seeded and a control simulation of
      $K\Delta$ ms, all trials at once under `jax.vmap` (memory grows with `n_trials`).
    - `dt`: time step, ms; > 0.
    - `initial_state`: the state every trial starts from (e.g. a network at rest); default
      `network.init_state` with each trial's key.
    - `key`: a `jax.random` key; trial $i$ uses `jax.random.fold_in(key, i)` for its seeds and
      its run (the seeded and the control run share it).

    **Returns:** a `SeededBranchingRatio`.
    """
    if not isinstance(network, Network):
        raise TypeError(f"`network` must be a `bs.Network`; got {type(network).__name__}.")
    check_key(key)
    n = network.population_sizes.get(population)
    if n is None:
        raise ValueError(f"unknown population `{population}`; known: {sorted(network.population_sizes)}.")
    if not isinstance(network.population(population).neuron, AbstractSpikingNeuron):
        raise ValueError(f"`population` must be a spiking population; `{population}` is not.")
    if not any(p.pre == population and p.synapse_delays is None for p in network.projections):
        raise ValueError(
            f"`population` `{population}` has no outgoing projection with one `delay_steps`: "
            "nothing would carry the seeded spikes."
        )
    plastic = [p.name for p in network.projections if p.plastic]
    if plastic:
        raise ValueError(
            f"`network` has plastic projections {plastic}; the estimate needs frozen weights: "
            "rebuild them without `plasticity` (with the learnt weights as connectivity weights)."
        )
    require_positive("generation_ms", generation_ms, "ms")
    require_positive("dt", dt, "ms")
    ratio = generation_ms / dt
    steps_per_generation = round(ratio)
    if steps_per_generation < 1 or abs(ratio - steps_per_generation) > 1e-6 * ratio:
        raise ValueError(
            f"`generation_ms` must be a positive multiple of `dt`; got {generation_ms} ms and dt={dt} ms."
        )
    n_generations = require_positive_int("n_generations", n_generations)
    n_seeds = require_positive_int("n_seeds", n_seeds)
    if n_seeds > n:
        raise ValueError(f"`n_seeds` must be in [1, {n}] (the size of `{population}`); got {n_seeds}.")
    n_trials = require_positive_int("n_trials", n_trials)
    if n_trials < 2:
        raise ValueError(f"`n_trials` must be >= 2 (for the standard error); got {n_trials}.")
    if initial_state is not None:
        check_initial_state(network, initial_state)
    dt = float(dt)
    duration = n_generations * steps_per_generation * dt

    @eqx.filter_jit
    def descendants(network, start, keys):
        def trial(trial_key):
            state = network.init_state(key=jr.fold_in(trial_key, 0), dt=dt) if start is None else start
            ring = state.history[population]
            slot = (state.step - 1) % ring.shape[0]  # the step before the run
            chosen = jr.choice(jr.fold_in(trial_key, 1), n, (n_seeds,), replace=False)
            seeded_ring = ring.at[slot, chosen].set(1.0)
            seeded = eqx.tree_at(lambda s: s.history[population], state, seeded_ring)
            seeded_run, control_run = (
                run(network, duration, dt, key=trial_key, initial_state=s, record=False).spike_counts
                for s in (seeded, state)
            )
            difference = seeded_run[population] - control_run[population]
            per_generation = difference.reshape(n_generations, steps_per_generation).sum(axis=1)
            return jnp.concatenate([jnp.sum(seeded_ring[slot] - ring[slot])[None], per_generation])

        return jax.vmap(trial)(keys)

    keys = jax.vmap(lambda i: jr.fold_in(key, i))(jnp.arange(n_trials))
    z = np.asarray(descendants(network, initial_state, keys), np.float64)  # (n_trials, K + 1)
    numerator, denominator = z[:, 1:].sum(axis=1), z[:, :-1].sum(axis=1)
    m = float(numerator.sum() / denominator.sum())
    residual = numerator - m * denominator
    error = float(np.sqrt(np.sum(residual**2) / (n_trials * (n_trials - 1))) / denominator.mean())
    return SeededBranchingRatio(m, error, z.mean(axis=0), n_trials, float(generation_ms))
