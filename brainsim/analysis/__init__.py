"""Spike-train statistics and plots, on the host after a run (see `docs/analysis.md`).

Statistics take spikes as a `SimulationResult` plus a population name (through
`spike_trains`), a `SpikeRecord`, a `(times, indices)` pair or a `SpikeTrains`; times are in
ms, rates in Hz, frequencies in Hz.
"""

from .branching import (
    BranchingRatio as BranchingRatio,
    autocorrelation_time as autocorrelation_time,
    branching_ratio as branching_ratio,
)
from .correlation import (
    fano_factor as fano_factor,
    spike_count_correlation as spike_count_correlation,
    synchrony_chi as synchrony_chi,
    synchrony_chi_of_traces as synchrony_chi_of_traces,
)
from .distance import van_rossum_distance as van_rossum_distance, van_rossum_matrix as van_rossum_matrix
from .intervals import (
    IsiStatistics as IsiStatistics,
    interspike_intervals as interspike_intervals,
    isi_cv as isi_cv,
    isi_statistics as isi_statistics,
    local_variation as local_variation,
)
from .phase_plane import PhasePlane as PhasePlane, phase_plane as phase_plane
from .plotting import (
    plot_isi_histogram as plot_isi_histogram,
    plot_phase_plane as plot_phase_plane,
    plot_raster as plot_raster,
    plot_rates as plot_rates,
    plot_summary as plot_summary,
    plot_traces as plot_traces,
)
from .rates import (
    RateKernel as RateKernel,
    firing_rates as firing_rates,
    instantaneous_rates as instantaneous_rates,
    mean_rate as mean_rate,
    population_rate as population_rate,
)
from .seeded_branching import (
    SeededBranchingRatio as SeededBranchingRatio,
    seeded_branching_ratio as seeded_branching_ratio,
)
from .spectrum import power_spectrum as power_spectrum, signal_spectrum as signal_spectrum
from .spike_trains import (
    SpikeTrains as SpikeTrains,
    binned_spike_counts as binned_spike_counts,
    population_activity as population_activity,
    spike_trains as spike_trains,
)

__all__ = [
    "BranchingRatio",
    "IsiStatistics",
    "PhasePlane",
    "RateKernel",
    "SeededBranchingRatio",
    "SpikeTrains",
    "autocorrelation_time",
    "binned_spike_counts",
    "branching_ratio",
    "fano_factor",
    "firing_rates",
    "instantaneous_rates",
    "interspike_intervals",
    "isi_cv",
    "isi_statistics",
    "local_variation",
    "mean_rate",
    "phase_plane",
    "plot_isi_histogram",
    "plot_phase_plane",
    "plot_raster",
    "plot_rates",
    "plot_summary",
    "plot_traces",
    "population_activity",
    "population_rate",
    "power_spectrum",
    "seeded_branching_ratio",
    "signal_spectrum",
    "spike_count_correlation",
    "spike_trains",
    "synchrony_chi",
    "synchrony_chi_of_traces",
    "van_rossum_distance",
    "van_rossum_matrix",
]
