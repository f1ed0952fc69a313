"""The result of `simulate`: spikes (compact), population rates, state traces, final state."""

from typing import NamedTuple

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .network import NetworkState


class SpikeRecord(NamedTuple):
    """Spikes of one population: `times` (ms, float64) and `indices` (int64), one entry per spike,
    sorted by time. A spike's time is the end of the step in which threshold was crossed."""

    times: np.ndarray
    indices: np.ndarray


class SimulationResult(eqx.Module):
    """What `simulate` recorded.

    **Fields:**
    - `dt`, `duration` (ms), `n_steps`, `start_time` (ms; nonzero when continuing a run).
    - `population_sizes`: neurons per population.
    - `spike_counts`: per population, spikes per step, shape `(n_steps,)`.
    - `spike_steps`, `spike_indices`: per recorded population, step (0-based, within this run)
      and neuron index of every spike: the compact record (empty under `grad`/`vmap`).
    - `rasters`: per recorded population, the dense `(n_steps, n)` float spike raster with
      surrogate gradients; only under `grad`/`vmap` (empty otherwise).
    - `traces`: per monitor name (`"E.v"`), samples of shape `(n_samples, n_recorded)`.
    - `trace_every`: per monitor name, steps between samples.
    - `final_state`: the `NetworkState` after the last step (pass it as `initial_state`).
    - `overflow_steps`: per projection, steps whose active rows exceeded the event operator's
      `max_active` buffer. The pure-JAX reference then took its exact slow path (nothing is
      dropped); the native CPU kernel has no buffer, so there the count only says how often the
      reference would have slowed down.
    """

    dt: float = eqx.field(static=True)
    duration: float = eqx.field(static=True)
    n_steps: int = eqx.field(static=True)
    start_time: float = eqx.field(static=True)
    population_sizes: dict = eqx.field(static=True)
    spike_counts: dict
    spike_steps: dict
    spike_indices: dict
    rasters: dict
    traces: dict
    trace_every: dict = eqx.field(static=True)
    final_state: NetworkState
    overflow_steps: dict

    @classmethod
    def from_chunks(
        cls, chunks, network, monitors, spike_populations, dt, n_steps, start_step, state, traced
    ) -> "SimulationResult":
        """Assemble chunk records (host NumPy arrays, or traced JAX arrays under transforms)."""
        cat = jnp.concatenate if traced else np.concatenate
        names = [p.name for p in network.populations]
        counts = {n: cat([c.counts[n] for c in chunks]) for n in names}
        traces = {m.name: cat([c.traces[m.name] for c in chunks]) for m in monitors}
        overflow = {p.name: sum(c.overflow[p.name] for c in chunks) for p in network.projections}
        steps, indices, rasters = {}, {}, {}
        for name in spike_populations:
            if traced:
                rasters[name] = cat([c.spikes[name] for c in chunks])
                continue
            offset, step_parts, index_parts = 0, [], []
            for c in chunks:
                s, i = np.nonzero(c.spikes[name])
                step_parts.append(s + offset)
                index_parts.append(i)
                offset += c.spikes[name].shape[0]
            steps[name] = np.concatenate(step_parts).astype(np.int64)
            indices[name] = np.concatenate(index_parts).astype(np.int64)
        return cls(
            dt=dt,
            duration=n_steps * dt,
            n_steps=n_steps,
            start_time=start_step * dt,
            population_sizes=network.population_sizes,
            spike_counts=counts,
            spike_steps=steps,
            spike_indices=indices,
            rasters=rasters,
            traces=traces,
            trace_every={m.name: m.every for m in monitors},
            final_state=state,
            overflow_steps=overflow,
        )

    @property
    def spikes(self) -> dict[str, SpikeRecord]:
        """Per recorded population, the `SpikeRecord` (times in ms from the start of the run)."""
        if self.rasters:
            raise ValueError(
                "compact spike records are not available under `jax.grad`/`jax.vmap`; use "
                "`result.rasters[name]` (dense, differentiable) instead."
            )
        return {
            name: SpikeRecord(
                times=self.start_time + (self.spike_steps[name] + 1) * self.dt,
                indices=self.spike_indices[name],
            )
            for name in self.spike_steps
        }

    @property
    def rates(self) -> dict[str, Float[Array, ""]]:
        """Mean firing rate per population over the run, Hz."""
        return {
            name: jnp.sum(counts) / (self.population_sizes[name] * self.duration * 1e-3)
            for name, counts in self.spike_counts.items()
        }

    def population_rate(self, name: str, bin_ms: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """`(bin_start_times ms, rate Hz)` of population `name` in bins of `bin_ms` (a multiple
        of `dt`)."""
        steps_per_bin = max(1, round(bin_ms / self.dt))
        counts = np.asarray(self.spike_counts[name], dtype=np.float64)
        n_bins = len(counts) // steps_per_bin
        binned = counts[: n_bins * steps_per_bin].reshape(n_bins, steps_per_bin).sum(axis=1)
        rate = binned / (self.population_sizes[name] * steps_per_bin * self.dt * 1e-3)
        times = self.start_time + np.arange(n_bins) * steps_per_bin * self.dt
        return times, rate

    def trace_times(self, name: str) -> np.ndarray:
        """Times (ms) of the samples of monitor `name`: the end of every `every`-th step."""
        every = self.trace_every[name]
        n_samples = self.traces[name].shape[0]
        return self.start_time + (np.arange(n_samples) + 1) * every * self.dt
