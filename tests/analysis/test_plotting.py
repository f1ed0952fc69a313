"""`brainsim/analysis/plotting.py`: every plot renders (Agg) and shows what it says, says what it
leaves out, and says why it is empty."""

import jax.random as jr
import matplotlib.pyplot as plt
import numpy as np
import pytest

import brainsim as bs
import brainsim.analysis as ba


@pytest.fixture(scope="module")
def result():
    net = bs.models.COBANetwork(n=200, key=jr.key(0))  # E: 160, I: 40
    return bs.simulate(net, 60.0, 0.1, key=jr.key(1), monitors=["E.v"])


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _points(ax):
    return sum(len(line.get_xdata()) for line in ax.get_lines() if line.get_linestyle() == "None")


def test_raster_without_subsampling_draws_every_spike(result):
    ax = ba.plot_raster(result)
    assert _points(ax) == sum(r.times.size for r in result.spikes.values()) > 0
    assert ax.get_title() == "neurons shown: E all 160, I all 40"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["E", "I"]


def test_raster_that_subsamples_says_so_and_keeps_bands_proportional(result):
    ax = ba.plot_raster(result, max_neurons=20)
    assert ax.get_title() == "neurons shown: E 20 of 160, I 20 of 40 (evenly spaced)"
    kept = ba.plotting.shown_neurons(160, 20)
    assert kept[0] == 0 and kept[-1] == 159  # spread over the population, not its first 20
    drawn_e = np.isin(result.spikes["E"].indices, kept).sum()
    drawn_i = np.isin(result.spikes["I"].indices, ba.plotting.shown_neurons(40, 20)).sum()
    assert _points(ax) == drawn_e + drawn_i
    # bands: E (160) on top of I (40): centres at 40 + 80 and 20, axis 0..200
    np.testing.assert_allclose(ax.get_yticks(), [120.0, 20.0])
    assert ax.get_ylim() == (0.0, 200.0)
    e_line = ax.get_lines()[0]
    assert np.all((e_line.get_ydata() >= 40.0) & (e_line.get_ydata() <= 200.0))


def test_equal_bands_and_population_names(result):
    ax = ba.plot_raster(result, ["I", "E"], bands="equal")
    np.testing.assert_allclose(ax.get_yticks(), [240.0, 80.0])  # both bands 160 tall
    assert "equal bands" in ax.get_ylabel()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["I", "E"]


def test_empty_raster_says_no_spikes_recorded():
    silent = {"A": ba.spike_trains((np.zeros(0), np.zeros(0, np.int64)), n=10, t_start=0.0, t_stop=5.0)}
    ax = ba.plot_raster(silent)
    assert [t.get_text() for t in ax.texts] == ["no spikes recorded"]
    assert ax.get_yticklabels()[0].get_text() == "A\n(no spikes)"


def test_rates_name_their_kernel_and_match_population_rate(result):
    kernel = ba.RateKernel("exponential", 3.0)
    ax = ba.plot_rates(result, kernel=kernel, resolution_ms=1.0)
    assert "causal exponential kernel, τ = 3 ms" in ax.get_ylabel()
    _, expected = ba.population_rate(ba.spike_trains(result, "E"), kernel, resolution_ms=1.0)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), expected)


def test_traces_title_counts_the_drawn_traces(result):
    ax = ba.plot_traces(result, "E.v", max_traces=5)
    assert len(ax.get_lines()) == 5 and ax.get_title() == "E.v: 5 of 160 traces (evenly spaced)"
    np.testing.assert_allclose(ax.get_lines()[4].get_ydata(), np.asarray(result.traces["E.v"])[:, 159])


def test_isi_histogram_counts_intervals_and_says_what_it_drops():
    times = np.array([1.0, 3.0, 6.0, 10.0, 2.0, 52.0])
    indices = np.array([0, 0, 0, 0, 1, 1])
    ax = ba.plot_isi_histogram((times, indices), bins=5, max_isi_ms=10.0)
    assert sum(p.get_height() for p in ax.patches) == 3
    assert ax.get_title().startswith("ISI histogram: 4 intervals from 2 neurons, CV = ")
    assert "1 intervals > 10 ms not shown" in ax.get_title()
    empty = ba.plot_isi_histogram((np.array([1.0]), np.array([0])))
    assert [t.get_text() for t in empty.texts] == ["no neuron fired twice: no interspike intervals"]


def test_summary_has_raster_and_rates(result, tmp_path):
    fig = ba.plot_summary(result, max_neurons=50, path=tmp_path / "summary.png")
    top, bottom = fig.axes
    assert "E 50 of 160" in top.get_title() and "Gaussian kernel, σ = 5 ms" in bottom.get_ylabel()
    assert (tmp_path / "summary.png").stat().st_size > 10_000
