"""Spike-train statistics and plots."""

from .plotting import (
    plot_raster as plot_raster,
    plot_rates as plot_rates,
    plot_summary as plot_summary,
    plot_traces as plot_traces,
)
from .spike_statistics import (
    firing_rates as firing_rates,
    interspike_intervals as interspike_intervals,
    isi_cv as isi_cv,
)
