"""`brainsim demo`, `run` and `map` on the shipped configs at small sizes, checked against the
same networks built and simulated through the Python API."""

import argparse
import json
import pathlib
import subprocess
import sys

import jax.random as jr
import numpy as np
import pytest

import brainsim as bs
from brainsim.cli import main, parser
from brainsim.io import load_result

ROOT = pathlib.Path(__file__).resolve().parents[2]
COBA = ROOT / "configs" / "coba.toml"
README = ROOT / "configs" / "readme_network.toml"


def _keys(seed: int):
    return jr.split(jr.key(seed))  # the documented meaning of `simulation.seed`


def test_run_coba_matches_the_python_api(tmp_path, capsys):
    out = tmp_path / "coba"
    argv = ["run", str(COBA), "--out", str(out), "--set", "network.n=400", "--set", "simulation.duration=50"]
    assert main(argv + ["--set", "simulation.seed=3"]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    for file in ("summary.png", "raster.png", "rates.png", "result.npz"):
        assert (out / file).stat().st_size > 1000, file

    k1, k2 = _keys(3)
    result = bs.simulate(bs.models.COBANetwork(n=400, key=k1), 50.0, 0.1, key=k2)
    assert summary["populations"] == {"E": 320, "I": 80}
    assert summary["rates_hz"] == pytest.approx(dict(result.rates), rel=1e-12)
    assert all(1.0 < rate < 200.0 for rate in summary["rates_hz"].values())
    saved = load_result(out / "result.npz")
    for name in ("E", "I"):
        np.testing.assert_array_equal(saved.spikes[name].indices, result.spikes[name].indices)
        np.testing.assert_allclose(saved.spikes[name].times, result.spikes[name].times)
        assert summary["spikes"][name] == len(saved.spikes[name].times) > 0
        assert 0.0 < summary["cv_isi"][name] < 2.0
        assert (
            f"{name}: {summary['populations'][name]} neurons, {summary['rates_hz'][name]:.3f} Hz" in printed
        )
    assert summary["resolved_config"]["simulation"]["seed"] == 3
    assert summary["versions"]["brainsim"] == bs.__version__
    assert set(summary["timings_s"]) == {"build", "simulate"}


def test_run_readme_network_matches_the_readme_code(tmp_path):
    out = tmp_path / "readme"
    overrides = ["simulation.duration=50", 'simulation.record=["exc"]', "output.plots=[]"]
    argv = ["run", str(README), "--out", str(out), "--no-progress"]
    assert main(argv + [a for o in overrides for a in ("--set", o)]) == 0
    summary = json.loads((out / "summary.json").read_text())

    k1, k2 = _keys(0)
    net = bs.Network(  # the README's network, verbatim but for the key
        populations=[bs.Population("exc", 800, bs.LIF()), bs.Population("inh", 200, bs.LIF(t_ref=1.0))],
        projections=[
            bs.Projection("exc", "inh", bs.FixedProbability(0.1, weight=2.0),
                          bs.ExponentialSynapse(tau=5.0), bs.COBA(e_rev=0.0)),
            bs.Projection("inh", "exc", bs.FixedInDegree(20, weight=-40.0),
                          bs.AlphaSynapse(tau=8.0), bs.CUBA(), delay_steps=3),
        ],
        inputs=[bs.PoissonInput("exc", n_sources=100, rate=40.0, weight=3.0,
                                synapse=bs.ExponentialSynapse(tau=5.0), output=bs.COBA(e_rev=0.0))],
        key=k1,
    )  # fmt: skip
    result = bs.simulate(net, 50.0, key=k2, record_spikes=("exc",))  # the same compiled chunk
    assert summary["rates_hz"] == pytest.approx(dict(result.rates), rel=1e-12)
    assert summary["rates_hz"]["exc"] > 1.0  # the Poisson drive makes `exc` fire
    saved = load_result(out / "result.npz")
    assert set(saved.spikes) == {"exc"}  # only what `simulation.record` asks for
    np.testing.assert_array_equal(saved.spikes["exc"].indices, result.spikes["exc"].indices)
    assert saved.rates["inh"] == summary["rates_hz"]["inh"]  # counts (hence rates) are always kept
    assert summary["cv_isi"]["inh"] is None and summary["files"]["plots"] == []
    assert not list(out.glob("*.png"))


def test_map_writes_the_report_and_heatmap(tmp_path, capsys):
    out = tmp_path / "map"
    argv = ["map", str(COBA), "--out", str(out), "--chip", "spinnaker", "--mapper", "pacman", "--no-progress"]
    assert main(argv + ["--set", "network.n=200", "--set", "simulation.duration=20"]) == 0
    printed = capsys.readouterr().out
    report = json.loads((out / "mapping.json").read_text())
    assert (report["chip"], report["mapper"]) == ("spinnaker", "pacman")
    assert 1 <= report["cores_used"] <= bs.hardware.Chip.spinnaker().n_cores
    assert report["simulation"]["populations"] == {"E": 160, "I": 40}
    rates = report["simulation"]["rates_hz"]
    spikes_per_s = sum(rates[p] * n for p, n in report["simulation"]["populations"].items())
    assert report["cost"]["spikes"] == pytest.approx(spikes_per_s * report["cost"]["duration_ms"] * 1e-3)
    assert (out / "core_load.png").stat().st_size > 1000
    text = (out / "mapping.txt").read_text()
    assert text.startswith("chip: spinnaker (mapper pacman, seed 0)\nnetwork: 200 neurons, ")
    assert f"cores used: {report['cores_used']}; feasible: " in text and text in printed


def test_demo_reports_the_rate_of_each_population(tmp_path, capsys):
    assert main(["demo", "--n", "200", "--duration", "20", "--out", str(tmp_path)]) == 0
    lines = dict(line.split(":", 1) for line in capsys.readouterr().out.splitlines())
    printed = {name.strip(): value.strip() for name, value in lines.items()}
    rate_e, rate_i, total = (float(printed[k]) for k in ("rate_hz[E]", "rate_hz[I]", "rate_hz"))
    assert 0.0 < rate_e < 300.0 and 0.0 < rate_i < 300.0
    assert total == pytest.approx(0.8 * rate_e + 0.2 * rate_i, abs=2e-3)  # 160 E and 40 I neurons
    assert (tmp_path / "coba_raster.png").exists()


def _actions(command: argparse.ArgumentParser):
    for action in command._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:  # the commands' one-line help
                yield command.prog, choice
            for sub in action.choices.values():
                yield from _actions(sub)
        elif not isinstance(action, argparse._HelpAction):
            yield command.prog, action


def test_every_flag_has_help_text():
    flags = list(_actions(parser()))
    assert {prog for prog, _ in flags} == {
        "brainsim",
        "brainsim demo",
        "brainsim run",
        "brainsim map",
        "brainsim sweep",
    }
    assert {a.dest for prog, a in flags if prog == "brainsim map"} >= {
        "config",
        "out",
        "overrides",
        "chip",
        "mapper",
    }
    for prog, action in flags:
        assert action.help and len(action.help) > 15, (prog, action.dest)
    defaults = parser().parse_args(["demo"])
    assert (defaults.n, defaults.duration, defaults.seed) == (4000, 1000.0, 0)  # `make demo` unchanged


ENTRY_POINT = pathlib.Path(sys.executable).parent / "brainsim"  # installed beside the interpreter


@pytest.mark.skipif(not ENTRY_POINT.exists(), reason="the `brainsim` entry point is not installed")
def test_installed_entry_point_reports_a_config_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[network]\nmodel = "coba"\n\n[simulation]\nduration = 0.0\n')
    command = [str(ENTRY_POINT), "run", str(bad)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "`simulation.duration` at line 5 must be > 0 ms; got 0.0." in done.stderr
