"""Config files: the schema's defaults, `--set` overrides, and every error naming its key and line."""

import re
import textwrap

import pytest

import brainsim as bs
from brainsim.cli import ConfigError, build_network, load_config, main
from brainsim.cli.schema import SCHEMA, neuron_parameters

BASE = """\
[[populations]]
name = "exc"
n = 40
neuron = "LIF"

[[populations]]
name = "inh"
n = 10
neuron = "LIF"
parameters = { t_ref = 1.0 }

[[projections]]
pre = "exc"
post = "inh"
connectivity = "FixedProbability"
p = 0.1
weight = 2.0
output = "COBA"
e_rev = 0.0

[simulation]
duration = 20.0
dt = 0.1
"""


def _write(tmp_path, text, name="net.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def _error(tmp_path, text, overrides=()) -> str:
    with pytest.raises(ConfigError) as info:
        config = load_config(_write(tmp_path, text), overrides)
        build_network(config)
    return str(info.value)


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def _at(text: str, needle: str) -> str:
    """`"at line N"` for the first line of `text` that contains `needle`."""
    return f"at line {_line_of(text, needle)}"


def test_defaults_are_filled_in(tmp_path):
    values = load_config(_write(tmp_path, BASE)).values
    assert values["network"] is None
    assert values["simulation"] == {
        "duration": 20.0,
        "dt": 0.1,
        "seed": 0,
        "engine": "auto",
        "record": None,
    }
    assert values["output"] == {
        "directory": "brainsim_output",
        "plots": ["summary"],
        "rate_kernel": "gaussian",
        "rate_width": 5.0,
    }
    assert values["hardware"] == {"chip": "loihi", "mapper": "traffic", "seed": 0}
    projection = values["projections"][0]
    assert projection["synapse"] == "ExponentialSynapse" and projection["tau"] == 5.0
    assert projection["delay"] is None and projection["allow_self_connections"] is True
    assert "k" not in projection and "tau_rise" not in projection  # keys that do not apply are absent
    assert values["populations"][1]["parameters"] == {"t_ref": 1.0}


def test_unknown_key_names_the_table_the_line_and_the_allowed_keys(tmp_path):
    text = BASE.replace("dt = 0.1", "dt = 0.1\nduraton = 5.0")
    message = _error(tmp_path, text)
    assert f"unknown key 'duraton' in [simulation] {_at(text, 'duraton')}; allowed: " in message
    assert "duration, dt, seed, engine, record" in message
    assert message.startswith(str(tmp_path / "net.toml"))


def test_unknown_key_in_an_array_of_tables_counts_the_element(tmp_path):
    text = BASE.replace("e_rev = 0.0", "e_rev = 0.0\nwieght = 3.0")
    message = _error(tmp_path, text)
    assert f"unknown key 'wieght' in [[projections]] (projections[0]) {_at(text, 'wieght')}" in message


def test_unknown_table(tmp_path):
    text = BASE + "\n[simulaton]\nseed = 1\n"
    message = _error(tmp_path, text)
    assert f"unknown table 'simulaton' at the top level {_at(text, '[simulaton]')}" in message
    assert "[simulation]" in message and "[[populations]]" in message


def test_wrong_type_names_the_key_line_and_range(tmp_path):
    text = BASE.replace("duration = 20.0", 'duration = "long"')
    message = _error(tmp_path, text)
    assert f"`simulation.duration` {_at(text, 'duration =')} must be a number > 0 (ms)" in message
    assert "got 'long' (str)" in message


def test_integer_key_rejects_a_float(tmp_path):
    text = BASE.replace("n = 40", "n = 40.5")
    message = _error(tmp_path, text)
    assert f"`populations[0].n` {_at(text, 'n = 40.5')} must be an integer >= 1; got 40.5" in message


def test_out_of_range_value(tmp_path):
    text = BASE.replace("p = 0.1", "p = 1.5")
    message = _error(tmp_path, text)
    assert f"`projections[0].p` {_at(text, 'p = 1.5')} must be in [0, 1]; got 1.5." in message


def test_negative_time_step(tmp_path):
    text = BASE.replace("dt = 0.1", "dt = -0.1")
    assert f"`simulation.dt` {_at(text, 'dt = -0.1')} must be > 0 ms; got -0.1." in _error(tmp_path, text)


def test_unknown_neuron_model(tmp_path):
    text = BASE.replace('neuron = "LIF"\n\n[[populations]]', 'neuron = "QIF"\n\n[[populations]]')
    message = _error(tmp_path, text)
    assert f"`populations[0].neuron` {_at(text, 'QIF')} must be one of 'LIF', 'ALIF', 'AdEx', " in message
    assert "got 'QIF'" in message


def test_unknown_neuron_parameter_lists_the_model_parameters(tmp_path):
    text = BASE.replace("t_ref = 1.0", "tau_ref = 1.0")
    message = _error(tmp_path, text)
    line = _line_of(text, "tau_ref")
    where = "in [populations.parameters] (populations[1].parameters, neuron model LIF)"
    assert f"unknown key 'tau_ref' {where} " in message
    assert f"at line {line}; allowed: c_m, g_leak, e_leak, v_threshold, v_reset, t_ref." in message


def test_the_model_checks_its_own_parameters_and_the_error_points_at_the_key(tmp_path):
    text = BASE.replace("t_ref = 1.0", "t_ref = -1.0")
    message = _error(tmp_path, text)
    assert f"`populations[1].parameters.t_ref` {_at(text, 't_ref')}: `t_ref` must be >= 0 ms" in message


def test_a_key_that_does_not_apply_to_the_chosen_rule(tmp_path):
    text = BASE.replace("p = 0.1", "p = 0.1\nk = 5")
    message = _error(tmp_path, text)
    assert f"`projections[0].k` {_at(text, 'k = 5')} applies only when `connectivity` is one of " in message
    assert "'FixedInDegree', 'FixedOutDegree'; here connectivity = 'FixedProbability'" in message


def test_missing_required_key_points_at_its_table(tmp_path):
    text = BASE.replace("e_rev = 0.0\n", "")
    message = _error(tmp_path, text)
    assert (
        f"missing key 'e_rev' in [[projections]] (projections[0]) {_at(text, '[[projections]]')}" in message
    )


def test_unknown_population_in_a_projection(tmp_path):
    text = BASE.replace('post = "inh"', 'post = "inhib"')
    message = _error(tmp_path, text)
    assert (
        f"`projections[0].post` {_at(text, 'inhib')}: unknown population 'inhib'; known: exc, inh." in message
    )


def test_duration_must_be_a_multiple_of_dt(tmp_path):
    text = BASE.replace("duration = 20.0", "duration = 20.05")
    message = _error(tmp_path, text)
    assert f"`simulation.duration` {_at(text, '20.05')}: `duration` must be a positive multiple" in message


def test_delay_must_be_a_multiple_of_dt(tmp_path):
    text = BASE.replace("e_rev = 0.0", "e_rev = 0.0\ndelay = 0.25")
    message = _error(tmp_path, text)
    assert f"`projections[0].delay` {_at(text, 'delay')}: must be a positive multiple of" in message


def test_rule_that_cannot_be_built_names_its_key(tmp_path):
    text = BASE.replace(
        'connectivity = "FixedProbability"\np = 0.1', 'connectivity = "FixedInDegree"\nk = 50'
    )
    message = _error(tmp_path, text)  # 50 > 40 presynaptic neurons: found when the Network builds the rule
    assert f"`projections[0].k` {_at(text, 'k = 50')}: `k` must be <= 40" in message


def test_network_check_points_at_the_weight(tmp_path):
    text = BASE.replace("weight = 2.0", "weight = -2.0")
    message = _error(tmp_path, text)  # COBA takes conductances >= 0: the Network's own check
    assert (
        f"`projections[0].weight` {_at(text, 'weight = -2.0')}: projection `exc->inh`: a `COBA` " in message
    )


def test_poisson_rate_beyond_one_spike_per_step(tmp_path):
    text = BASE + (
        '\n[[inputs]]\ntarget = "exc"\nkind = "PoissonInput"\nn_sources = 5\nrate = 20000.0\n'
        'weight = 1.0\noutput = "CUBA"\n'
    )
    message = _error(tmp_path, text)
    assert (
        f"`inputs[0].rate` {_at(text, 'rate = 20000.0')}: `PoissonInput` to `exc`: `rate` * `dt`" in message
    )


def test_a_default_made_invalid_by_another_key(tmp_path):
    message = _error(tmp_path, BASE.replace("duration = 20.0\n", ""), ["simulation.dt=0.3"])
    where = f"(its default; its table is at line {_line_of(BASE, '[simulation]')})"
    assert f"`simulation.duration` {where}: `duration` must be a positive multiple of `dt`" in message
    text = '[network]\nmodel = "coba"\n'  # no [simulation] table at all
    message = _error(tmp_path, text, ["simulation.dt=0.3"])
    assert "`simulation.duration` (its default): `duration` must be a positive multiple" in message


def test_unknown_chip_in_the_file(tmp_path):
    text = BASE + '\n[hardware]\nchip = "loihi3"\n'
    message = _error(tmp_path, text)
    assert f"`hardware.chip` {_at(text, 'loihi3')} must be one of 'loihi', " in message


def test_toml_syntax_error_reports_line_and_column(tmp_path):
    text = BASE.replace("p = 0.1", "p = 0.1.2")
    message = _error(tmp_path, text)
    assert re.search(rf"TOML syntax error: .*\({_at(text, '0.1.2')}, column \d+\)", message)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the config file"):
        load_config(tmp_path / "absent.toml")


def test_overrides_by_name_and_index_are_validated_like_the_file(tmp_path):
    path = _write(tmp_path, BASE)
    values = load_config(
        path, ["populations.inh.n=12", "projections.0.weight=3", "simulation.engine=generic"]
    ).values
    assert values["populations"][1]["n"] == 12
    assert values["projections"][0]["weight"] == 3.0
    assert values["simulation"]["engine"] == "generic"
    with pytest.raises(
        ConfigError, match=r"`simulation.duration` in --set simulation.duration=-5 must be > 0 ms"
    ):
        load_config(path, ["simulation.duration=-5"])
    with pytest.raises(ConfigError, match=r"unknown key 'tau' in \[simulation\] in --set simulation.tau=3"):
        load_config(path, ["simulation.tau=3"])
    with pytest.raises(ConfigError, match=r"has no element named or numbered 'gaba'; it has 2: exc, inh"):
        load_config(path, ["populations.gaba.n=3"])
    with pytest.raises(ConfigError, match=r"expected `table.key=value`"):
        load_config(path, ["simulation.duration"])


def test_a_table_created_by_an_override_is_checked(tmp_path):
    message = _error(tmp_path, BASE, ["network.n=400"])
    assert "missing key 'model' in [network] in --set network.n=400: " in message


def test_network_shorthand_excludes_populations(tmp_path):
    text = BASE + '\n[network]\nmodel = "coba"\n'
    message = _error(tmp_path, text)
    assert f"`network` {_at(text, '[network]')}: the `[network]` shorthand builds a whole model" in message


def test_a_model_shorthand_key_for_another_model(tmp_path):
    text = '[network]\nmodel = "cuba"\nn = 100\ndrive = 200.0\n'
    message = _error(tmp_path, text)
    assert "`network.drive` at line 4 applies only when `model` is 'coba'; here model = 'cuba'" in message


def test_every_family_builds_through_the_public_constructors(tmp_path):
    populations = "".join(
        f'[[populations]]\nname = "{model}"\nn = 6\nneuron = "{model}"\n' for model in ("LIF", "ALIF", "AdEx")
    )
    populations += (
        '[[populations]]\nname = "iz"\nn = 6\nneuron = "Izhikevich"\nparameters = { v_reset = -60 }\n'
    )
    populations += '[[populations]]\nname = "hh"\nn = 6\nneuron = "HodgkinHuxley"\n'
    projections = """
[[projections]]
pre = "LIF"
post = "ALIF"
connectivity = "AllToAll"
weight = 1.5
synapse = "DualExponentialSynapse"
tau_rise = 0.5
tau_decay = 4.0
output = "CUBA"
delay = 0.5

[[projections]]
pre = "ALIF"
post = "AdEx"
connectivity = "OneToOne"
weight = 2.0
synapse = "AlphaSynapse"
tau = 3.0
output = "COBA"
e_rev = -80.0

[[projections]]
pre = "iz"
post = "hh"
connectivity = "FixedOutDegree"
k = 2
weight = 1.0
synapse = "InstantaneousSynapse"
output = "CUBA"

[[inputs]]
target = "LIF"
kind = "ConstantCurrent"
current = 250.0

[[inputs]]
target = "hh"
kind = "PoissonInput"
n_sources = 10
rate = 20.0
weight = 1.0
synapse = "ExponentialSynapse"
tau = 2.0
output = "COBA"
e_rev = 0.0
"""
    network = build_network(load_config(_write(tmp_path, populations + projections)))
    models = {p.name: type(p.neuron) for p in network.populations}
    assert models == {
        "LIF": bs.LIF,
        "ALIF": bs.ALIF,
        "AdEx": bs.AdEx,
        "iz": bs.Izhikevich,
        "hh": bs.HodgkinHuxley,
    }
    assert network.population("iz").neuron == bs.Izhikevich(v_reset=-60.0)
    first, second, third = network.projections
    assert first.synapse == bs.DualExponentialSynapse(tau_rise=0.5, tau_decay=4.0)
    assert first.delay_steps == 5 and isinstance(first.output, bs.CUBA)
    assert isinstance(first.connectivity, bs.Dense) and float(first.connectivity.weights[0, 0]) == 1.5
    assert second.synapse == bs.AlphaSynapse(tau=3.0) and float(second.output.e_rev) == -80.0
    assert isinstance(second.connectivity, bs.ELL) and second.connectivity.targets.shape == (6, 1)
    assert isinstance(third.synapse, bs.InstantaneousSynapse) and third.connectivity.targets.shape == (6, 2)
    constant, poisson = network.inputs
    assert constant == bs.ConstantCurrent("LIF", 250.0)
    assert (poisson.n_sources, float(poisson.rate), poisson.synapse) == (
        10,
        20.0,
        bs.ExponentialSynapse(tau=2.0),
    )


def test_every_schema_key_has_a_doc_and_every_default_passes_its_own_check():
    for table in SCHEMA:
        assert table.doc
        for key in table.keys:
            assert key.doc, key.name
            if key.choices and isinstance(key.default, str):
                assert key.default in key.choices
    assert neuron_parameters("LIF") == {
        "c_m": 200.0,
        "g_leak": 10.0,
        "e_leak": -70.0,
        "v_threshold": -50.0,
        "v_reset": -60.0,
        "t_ref": 2.0,
    }


def test_main_prints_config_errors_and_returns_2(tmp_path, capsys):
    path = _write(tmp_path, BASE.replace("dt = 0.1", "dt = 0.1\nspeed = 2"))
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("brainsim run: error: ") and "unknown key 'speed' in [simulation] at line" in err
    assert not (tmp_path / "out").exists()


def test_fused_engine_refusal_names_simulation_engine(tmp_path, capsys):
    text = BASE.replace('output = "COBA"', 'synapse = "AlphaSynapse"\noutput = "COBA"')
    text = text.replace("dt = 0.1", 'dt = 0.1\nengine = "fused"')
    assert main(["run", str(_write(tmp_path, text)), "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"`simulation.engine` {_at(text, 'engine')}: `engine='fused'` does not apply" in err


def test_unknown_chip_on_the_command_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["map", str(_write(tmp_path, BASE)), "--chip", "loihi3"])
    assert info.value.code == 2
    assert "argument --chip: invalid choice: 'loihi3'" in capsys.readouterr().err
