"""`brainsim sweep` on the shipped COBA study at a tiny size, checked against single runs through
the Python API; a shape-changing grid; and the `[sweep]` table's errors (exit status 2)."""

import csv
import json
import pathlib
import textwrap

import jax.random as jr
import numpy as np
import pytest

import brainsim as bs
from brainsim.cli import load_config, main
from brainsim.cli.sweep_command import write_table
from brainsim.sweep import point_key

ROOT = pathlib.Path(__file__).resolve().parents[2]
STUDY = ROOT / "configs" / "coba_sweep.toml"
TINY = [
    "network.n=200",
    "simulation.duration=50",
    "sweep.parameters.network.w_inh=[40.0, 80.0]",
    "sweep.parameters.network.drive=[200.0, 300.0]",
]
COLUMNS = ["point", "network.w_inh", "network.drive", "rate_E", "rate_I", "cv_E", "synchrony"]


def _argv(command: str, config, out, overrides=()) -> list[str]:
    return [command, str(config), "--out", str(out), "--no-progress"] + [
        a for o in overrides for a in ("--set", o)
    ]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The shipped study, 2 x 2 points of N = 200 for 50 ms: (output directory, rows, summary)."""
    out = tmp_path_factory.mktemp("coba_sweep")
    assert main(_argv("sweep", STUDY, out, TINY)) == 0
    with (out / "sweep.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    return out, rows, json.loads((out / "summary.json").read_text())


def test_shipped_study_is_the_full_grid():
    values = load_config(STUDY).values
    assert values["network"]["n"] == 4000 and values["simulation"]["duration"] == 1000.0
    grid = values["sweep"]["parameters"]
    assert list(grid) == ["network.w_inh", "network.drive"]
    assert [len(v) for v in grid.values()] == [8, 8]
    assert 67.0 > min(grid["network.w_inh"]) and 200.0 in grid["network.drive"]  # around the benchmark


def test_table_has_one_row_per_point_in_grid_order(study):
    out, rows, summary = study
    assert list(rows[0]) == COLUMNS
    grid = [(float(r["network.w_inh"]), float(r["network.drive"])) for r in rows]
    assert grid == [(40.0, 200.0), (40.0, 300.0), (80.0, 200.0), (80.0, 300.0)]  # last path fastest
    assert [int(r["point"]) for r in rows] == [0, 1, 2, 3]
    for row in rows:
        assert 1.0 < float(row["rate_E"]) < 200.0 and 0.0 <= float(row["synchrony"]) <= 1.0
    rates = {(w, d): float(r["rate_E"]) for (w, d), r in zip(grid, rows, strict=True)}
    assert rates[(40.0, 300.0)] > rates[(40.0, 200.0)]  # more drive, more spikes
    assert summary["points"] == summary["completed"] == 4 and summary["error"] is None
    assert summary["units"] == {"network.w_inh": "nS", "network.drive": "pA"}


def test_weights_and_drive_compile_once(study):
    _, _, summary = study
    assert summary["compilations"] == 1 and summary["shape_parameters"] == []
    assert summary["resolved_config"]["network"]["n"] == 200
    assert summary["versions"]["brainsim"] == bs.__version__


def test_a_point_equals_a_single_simulation_with_its_key(study):
    _, rows, _ = study
    k = 3
    k1, k2 = jr.split(jr.key(0))  # simulation.seed = 0
    network = bs.models.COBANetwork(n=200, key=k1, w_inh=80.0, drive=300.0)
    alone = bs.simulate(network, 50.0, 0.1, key=point_key(k2, k), progress=False)
    row = rows[k]
    assert float(row["rate_E"]) == pytest.approx(alone.rates["E"], rel=1e-12)
    assert float(row["rate_I"]) == pytest.approx(alone.rates["I"], rel=1e-12)
    assert float(row["cv_E"]) == pytest.approx(bs.analysis.isi_cv(bs.analysis.spike_trains(alone, "E")))
    times = np.concatenate([alone.spikes["E"].times, alone.spikes["I"].times])
    indices = np.concatenate([alone.spikes["E"].indices, alone.spikes["I"].indices + 160])
    every = bs.analysis.SpikeTrains(times, indices, n=200, t_start=0.0, t_stop=50.0, dt=0.1)
    assert float(row["synchrony"]) == pytest.approx(bs.analysis.synchrony_chi(every, bin_ms=2.0))


def test_a_heatmap_per_metric_for_two_varying_paths(study):
    out, _, summary = study
    heatmaps = ["heatmap_rate_E.png", "heatmap_rate_I.png", "heatmap_cv_E.png", "heatmap_synchrony.png"]
    assert summary["files"]["heatmaps"] == heatmaps
    for file in heatmaps:
        assert (out / file).read_bytes()[:4] == b"\x89PNG" and (out / file).stat().st_size > 5000


NETWORK = """\
[[populations]]
name = "exc"
n = 40

[[populations]]
name = "inh"
n = 10

[[projections]]
pre = "exc"
post = "inh"
connectivity = "FixedInDegree"
k = 5
weight = 2.0
output = "COBA"
e_rev = 0.0

[[inputs]]
target = "exc"
kind = "ConstantCurrent"
current = 250.0

[simulation]
duration = 20.0
"""


def _write(tmp_path, text: str):
    path = tmp_path / "net.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_a_size_parameter_groups_points_and_element_names_address_keys(tmp_path):
    text = NETWORK + (
        '\n[sweep]\nmetrics = ["rate_exc", "rate_inh", "rate"]\n\n[sweep.parameters]\n'
        '"populations.inh.n" = [10, 12]\n"projections.exc->inh.weight" = [1.0, 3.0]\n'
        '"inputs.0.current" = [250.0]\n'
    )
    out = tmp_path / "out"
    assert main(_argv("sweep", _write(tmp_path, text), out)) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["compilations"] == 2 and summary["shape_parameters"] == ["populations.inh.n"]
    assert summary["units"] == {
        "populations.inh.n": "",
        "projections.exc->inh.weight": "nS",
        "inputs.0.current": "pA",
    }
    with (out / "sweep.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert [(r["populations.inh.n"], r["projections.exc->inh.weight"]) for r in rows] == [
        ("10", "1.0"),
        ("10", "3.0"),
        ("12", "1.0"),
        ("12", "3.0"),
    ]
    for row in rows:  # `rate` is over all neurons
        n_inh = int(row["populations.inh.n"])
        rate_exc, rate_inh = float(row["rate_exc"]), float(row["rate_inh"])
        assert rate_exc > 1.0  # the constant current drives `exc`
        assert float(row["rate"]) == pytest.approx((40 * rate_exc + n_inh * rate_inh) / (40 + n_inh))
    assert summary["files"]["heatmaps"] == [f"heatmap_{m}.png" for m in ("rate_exc", "rate_inh", "rate")]


def test_csv_rows_keep_every_digit_and_nan(tmp_path):
    rows = [{"point": 0, "a.b": 1.5, "rate": 0.1 + 0.2}, {"point": 1, "a.b": "x", "rate": float("nan")}]
    columns = ["point", "a.b", "rate"]
    write_table(rows, columns, tmp_path / "csv.csv")
    assert (tmp_path / "csv.csv").read_text().splitlines()[2] == "1,x,nan"
    assert (tmp_path / "csv.csv").read_text().splitlines()[1] == "0,1.5,0.30000000000000004"
    write_table([], columns, tmp_path / "empty.csv")
    assert (tmp_path / "empty.csv").read_text() == "point,a.b,rate\n"


def test_nested_and_quoted_key_paths_are_one_grid_with_their_lines(tmp_path):
    text = NETWORK + '\n[sweep.parameters]\npopulations.exc.n = [40, 50]\n"simulation.seed" = [0, 1]\n'
    config = load_config(_write(tmp_path, text))
    assert config.values["sweep"]["parameters"] == {"populations.exc.n": [40, 50], "simulation.seed": [0, 1]}
    assert (
        config.where(("sweep", "parameters", "populations.exc.n", 1)) == f"at line {text.count(chr(10)) - 1}"
    )
    replaced = load_config(_write(tmp_path, text), ["sweep.parameters.populations.exc.n=[20]"])
    assert replaced.values["sweep"]["parameters"]["populations.exc.n"] == [20]  # replaced, not added


SWEEP = NETWORK + '\n[sweep]\nmetrics = ["rate"]\n\n[sweep.parameters]\n'


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


ERRORS = {
    "unknown path": (
        SWEEP + '"projections.0.wieght" = [1.0, 2.0]\n',
        "unknown key 'wieght' in [[projections]] (projections[0]) in [sweep] `projections.0.wieght` = 1.0 "
        "at line {wieght}; allowed: pre, post,",
    ),
    "unknown element": (
        SWEEP + '"populations.gaba.n" = [3]\n',
        "[sweep] `populations.gaba.n` = 3 at line {gaba}: `populations` has no element named or numbered "
        "'gaba'; it has 2: exc, inh.",
    ),
    "not a network key": (
        SWEEP + '"simulation.duration" = [10.0, 20.0]\n',
        '`sweep.parameters."simulation.duration"` at line {simulation.duration}: only keys that build the '
        "network can vary",
    ),
    "empty values": (
        SWEEP + '"projections.0.weight" = []\n',
        '`sweep.parameters."projections.0.weight"` at line {weight" = []} must be a non-empty array of '
        "values; got [] (list).",
    ),
    "wrong type": (
        SWEEP + '"projections.0.weight" = [1.0, "heavy"]\n',
        "`projections[0].weight` in [sweep] `projections.0.weight` = 'heavy' at line {heavy} must be a "
        "number; got 'heavy' (str).",
    ),
    "repeated value": (
        SWEEP + '"projections.0.weight" = [1.0, 1]\n',
        "at line {= [1.0, 1]} gives 1 twice; each value must appear once.",
    ),
    "same key twice": (
        SWEEP + '"populations.0.n" = [5]\n"populations.exc.n" = [6]\n',
        "[sweep] `populations.exc.n` = 6 at line {exc.n}: sets `populations[0].n`, which [sweep] "
        "`populations.0.n` = 5 at line {0.n} sets too.",
    ),
    "unknown metric": (
        SWEEP.replace('["rate"]', '["rate", "rate_gaba"]') + '"projections.0.weight" = [1.0]\n',
        "`sweep.metrics` at line {metrics}: unknown metric 'rate_gaba'; allowed: rate, cv, synchrony "
        "(all neurons) or rate_<population>, cv_<population>, synchrony_<population>, with "
        "<population> one of exc, inh.",
    ),
    "synchrony bins": (
        SWEEP.replace('["rate"]', '["synchrony"]\nsynchrony_bin = 15.0') + '"projections.0.weight" = [1.0]\n',
        "`sweep.synchrony_bin` at line {synchrony_bin}: the `synchrony` metrics need at least 2 bins",
    ),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_sweep_errors_name_the_key_and_line_and_exit_2(tmp_path, capsys, case):
    text, expected = ERRORS[case]
    for needle in set(part.split("}")[0] for part in expected.split("{")[1:]):
        expected = expected.replace(f"{{{needle}}}", str(_line(text, needle)))
    out = tmp_path / "out"
    assert main(_argv("sweep", _write(tmp_path, text), out)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"brainsim sweep: error: {tmp_path / 'net.toml'}: ")
    assert expected in err, err
    assert not out.exists()


def test_a_value_a_constructor_rejects_names_the_point_and_exits_2(tmp_path, capsys):
    text = SWEEP + '"projections.0.weight" = [-2.0]\n'
    out = tmp_path / "out"
    assert main(_argv("sweep", _write(tmp_path, text), out)) == 2
    err = capsys.readouterr().err
    line = _line(text, "-2.0")
    assert "point 0 (projections.0.weight = -2.0): `build` failed: ConfigError: " in err
    assert f"`projections[0].weight` in [sweep] `projections.0.weight` = -2.0 at line {line}: " in err
    assert "a `COBA` output takes conductances >= 0 nS" in err
    assert (out / "sweep.csv").read_text() == "point,projections.0.weight,rate\n"  # no point completed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["completed"] == 0 and summary["error"] in err


@pytest.mark.parametrize("command", ["run", "map"])
def test_run_and_map_refuse_a_sweep_table(tmp_path, capsys, command):
    text = SWEEP + '"projections.0.weight" = [1.0, 2.0]\n'
    assert main(_argv(command, _write(tmp_path, text), tmp_path / "out")) == 2
    err = capsys.readouterr().err
    assert f"`sweep` at line {_line(text, '[sweep]')}: `brainsim {command}` simulates one network" in err
    assert "run `brainsim sweep " in err and not (tmp_path / "out").exists()


def test_sweep_needs_a_sweep_table(tmp_path, capsys):
    assert main(_argv("sweep", _write(tmp_path, NETWORK), tmp_path / "out")) == 2
    err = capsys.readouterr().err
    assert "net.toml: no [sweep] table: `brainsim sweep` runs a grid" in err
