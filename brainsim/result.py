"""The result of `simulate`: spikes (compact), population rates, values, traces, final state."""

from typing import NamedTuple

import equinox as eqx
import numpy as np

from .network import NetworkState


class SpikeRecord(NamedTuple):
    """Spikes of one population: `times` (ms, float64) and `indices` (int64), one entry per spike,
    sorted by time. A spike's time is the end of the step in which threshold was crossed."""

    times: np.ndarray
    indices: np.ndarray


class RecordSegment(NamedTuple):
    """The host records of consecutive steps of one run, as `simulate` keeps them between
    chunks (and as checkpoints store them).

    **Fields:**
    - `n_steps`: steps covered.
    - `counts`: per spiking population, spikes per step, `(n_steps,)`.
    - `spike_steps`, `spike_indices`: per recorded spiking population, the step (counted from
      the start of the run, not of the segment) and neuron of every spike, int64.
    - `values`, `traces`: per value population / monitor, the samples taken in these steps.
    - `overflow`: per projection, steps whose active rows exceeded the event buffer.
    """

    n_steps: int
    counts: dict[str, np.ndarray]
    spike_steps: dict[str, np.ndarray]
    spike_indices: dict[str, np.ndarray]
    values: dict[str, np.ndarray]
    traces: dict[str, np.ndarray]
    overflow: dict[str, int]

    @classmethod
    def concatenate(cls, segments: "list[RecordSegment]") -> "RecordSegment":
        """Consecutive segments (at least one) as one."""
        if not segments:
            raise ValueError("`segments` must hold at least one `RecordSegment`.")
        first = segments[0]

        def cat(field: str) -> dict[str, np.ndarray]:
            parts = [getattr(s, field) for s in segments]
            return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}

        return cls(
            n_steps=sum(s.n_steps for s in segments),
            counts=cat("counts"),
            spike_steps=cat("spike_steps"),
            spike_indices=cat("spike_indices"),
            values=cat("values"),
            traces=cat("traces"),
            overflow={name: sum(s.overflow[name] for s in segments) for name in first.overflow},
        )


class Records(dict):
    """A dict whose missing keys raise a `KeyError` that says what exists and why a key may not."""

    def __init__(self, items, what: str, hint: str):
        super().__init__(items)
        self._what, self._hint = what, hint

    def __missing__(self, name):
        raise KeyError(f"no {self._what} for `{name}`; available: {sorted(self)}. {self._hint}")


class SimulationResult(eqx.Module):
    """What `simulate` recorded (host NumPy arrays).

    **Fields:**
    - `dt`, `duration` (ms), `n_steps`, `start_time` (ms; nonzero when continuing a run).
    - `sizes`: `(name, n)` per population (also `population_sizes`, a dict).
    - `counts`: per spiking population, spikes per step, `(n_steps,)` (see `spike_counts`).
    - `spike_steps`, `spike_indices`: per recorded spiking population, step (0-based, within
      this run) and neuron index of every spike: the compact record (see `spikes`).
    - `value_samples`: per recorded value population (e.g. `RateUnit`), its output every
      `value_every` steps, `(n_samples, n)` (see `values`).
    - `trace_samples`: per monitor name, samples of shape `(n_samples, ...)` (see `traces`).
    - `trace_every`: `(name, every)` per monitor.
    - `final_state`: the `NetworkState` after the last step (pass it as `initial_state`);
      `None` for a result read by `brainsim.io.load_result` without its network.
    - `overflow`: per projection, steps whose active rows exceeded the event operator's
      `max_active` buffer (see `overflow_steps`). The pure-JAX reference then took its exact
      slow path (nothing is dropped); the native CPU kernel has no buffer, so there the count
      only says how often the reference would have slowed down. Value populations' projections
      never report overflow (dense activity is their normal case).
    """

    dt: float = eqx.field(static=True)
    duration: float = eqx.field(static=True)
    n_steps: int = eqx.field(static=True)
    start_time: float = eqx.field(static=True)
    sizes: tuple[tuple[str, int], ...] = eqx.field(static=True)
    counts: dict
    spike_steps: dict
    spike_indices: dict
    value_samples: dict
    value_every: int = eqx.field(static=True)
    trace_samples: dict
    trace_every: tuple[tuple[str, int], ...] = eqx.field(static=True)
    final_state: NetworkState | None
    overflow: dict

    @classmethod
    def from_segments(
        cls,
        segments: "list[RecordSegment]",
        *,
        sizes: tuple[tuple[str, int], ...],
        value_every: int,
        trace_every: tuple[tuple[str, int], ...],
        dt: float,
        start_step: int,
        final_state: NetworkState | None,
    ) -> "SimulationResult":
        """Assemble the host records of consecutive segments of one run (at least one)."""
        records = RecordSegment.concatenate(segments)
        return cls(
            dt=dt,
            duration=records.n_steps * dt,
            n_steps=records.n_steps,
            start_time=start_step * dt,
            sizes=sizes,
            counts=records.counts,
            spike_steps=records.spike_steps,
            spike_indices=records.spike_indices,
            value_samples=records.values,
            value_every=value_every,
            trace_samples=records.traces,
            trace_every=trace_every,
            final_state=final_state,
            overflow=records.overflow,
        )

    def as_segment(self) -> RecordSegment:
        """All records of this result as one `RecordSegment` (steps counted from its start)."""
        return RecordSegment(
            n_steps=self.n_steps,
            counts=dict(self.counts),
            spike_steps=dict(self.spike_steps),
            spike_indices=dict(self.spike_indices),
            values=dict(self.value_samples),
            traces=dict(self.trace_samples),
            overflow=dict(self.overflow),
        )

    @property
    def population_sizes(self) -> dict[str, int]:
        """Units per population."""
        return dict(self.sizes)

    @property
    def spike_counts(self) -> Records:
        """Per spiking population, spikes per step, `(n_steps,)` int."""
        return Records(self.counts, "spike counts", "Value populations have `values`, not spikes.")

    @property
    def spikes(self) -> Records:
        """Per recorded spiking population, the `SpikeRecord` (times in ms)."""
        return Records(
            {
                name: SpikeRecord(
                    times=self.start_time + (self.spike_steps[name] + 1) * self.dt,
                    indices=self.spike_indices[name],
                )
                for name in self.spike_steps
            },
            "spike record",
            "Spikes are kept for the spiking populations in `record_spikes`; value populations "
            "are in `values`; under `jax.grad`/`vmap` use `bs.run`, whose `outputs` are dense.",
        )

    @property
    def rates(self) -> Records:
        """Mean firing rate per spiking population over the run, Hz (value populations have
        no firing rate: their outputs are in `values`)."""
        return Records(
            {
                name: float(np.sum(counts)) / (self.population_sizes[name] * self.duration * 1e-3)
                for name, counts in self.counts.items()
            },
            "firing rate",
            "Rates exist for spiking populations; a value population's output is in `values`.",
        )

    @property
    def values(self) -> Records:
        """Per recorded value population, its output every `value_every` steps, `(n_samples, n)`."""
        return Records(
            self.value_samples,
            "value record",
            "Values are recorded for value populations in `record_values`.",
        )

    @property
    def traces(self) -> Records:
        """Per monitor name, its samples."""
        return Records(self.trace_samples, "trace", "Traces exist for the `monitors` given to `simulate`.")

    @property
    def overflow_steps(self) -> Records:
        """Per projection, steps whose active rows exceeded the event buffer."""
        return Records(self.overflow, "overflow count", "")

    def population_rate(self, name: str, bin_ms: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """`(bin_start_times ms, rate Hz)` of spiking population `name` in bins of `bin_ms`."""
        steps_per_bin = max(1, round(bin_ms / self.dt))
        counts = np.asarray(self.spike_counts[name], dtype=np.float64)
        n_bins = len(counts) // steps_per_bin
        binned = counts[: n_bins * steps_per_bin].reshape(n_bins, steps_per_bin).sum(axis=1)
        rate = binned / (self.population_sizes[name] * steps_per_bin * self.dt * 1e-3)
        times = self.start_time + np.arange(n_bins) * steps_per_bin * self.dt
        return times, rate

    def trace_times(self, name: str) -> np.ndarray:
        """Times (ms) of the samples of monitor `name`: the end of every `every`-th step."""
        every = dict(self.trace_every)[name]
        n_samples = self.traces[name].shape[0]
        return self.start_time + (np.arange(n_samples) + 1) * every * self.dt

    def value_times(self) -> np.ndarray:
        """Times (ms) of the value samples: the end of every `value_every`-th step."""
        n_samples = self.n_steps // self.value_every
        return self.start_time + (np.arange(n_samples) + 1) * self.value_every * self.dt
