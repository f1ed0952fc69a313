"""Tests of NIR export/import for `brainsim.train` layer stacks (`brainsim/io/_nir_layers.py`):
layers -> NIR -> layers round trips; chains written with `nir`'s own API import as layers that
spike as the `Network` import of the same graph after the documented one-step shift per layer,
and whose `LeakyReadout` matches NIR's LI in closed form; refusals that name the node."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import nir
import numpy as np
import pytest

import brainsim as bs
from brainsim.io import nir as bnir
from brainsim.train import LeakyReadout, RecurrentSpikingLayer, Sequential, SpikingLayer, stack

KEY = jr.key(0)


@pytest.fixture(autouse=True)
def x64():
    with jax.enable_x64(True):
        yield


def _spikes(n_steps, n, rate=0.2, seed=3):
    return (jr.uniform(jr.key(seed), (n_steps, 1, n)) < rate).astype(jnp.float64)


def test_layer_stack_to_nir_to_layer_stack_keeps_weights_parameters_and_outputs():
    dt = 0.5
    lif = bs.LIF(c_m=150.0, g_leak=10.0, e_leak=-65.0, v_threshold=-50.0, v_reset=-60.0, t_ref=0.0)
    model = stack(
        SpikingLayer(5, 7, key=jr.key(1), neuron=lif, recurrent=True, recurrent_scale=2000.0, dt=dt),
        SpikingLayer(
            7,
            4,
            key=jr.key(2),
            neuron=bs.LIF(t_ref=0.0),
            synapse=bs.ExponentialSynapse(tau=4.0),
            dt=dt,
            weight_scale=40000.0,
        ),
        LeakyReadout(4, 3, key=jr.key(3), tau=8.0, dt=dt),
    )
    readout = model.layers[2]
    model = eqx.tree_at(lambda m: m.layers[-1].bias, model, jnp.array([0.5, -1.0, 2.0]))
    graph = bnir.to_nir(model, dt=dt)
    assert isinstance(graph.nodes["layer0"], nir.LIF)
    assert isinstance(graph.nodes["layer1"], nir.CubaLIF)
    assert isinstance(graph.nodes["layer2"], nir.LI)
    assert ("layer0_recurrent", "layer0") in graph.edges
    back = bnir.from_nir(graph, dt=dt, as_layers=True)
    assert isinstance(back, Sequential) and len(back.layers) == 3
    for a, b in zip(model.layers, back.layers, strict=True):
        assert type(a) is type(b) and a.dt == b.dt
        np.testing.assert_allclose(np.asarray(b.weights), np.asarray(a.weights), rtol=1e-12)
    np.testing.assert_allclose(
        np.asarray(back.layers[0].recurrent_weights),
        np.asarray(model.layers[0].recurrent_weights),
        rtol=1e-12,
    )
    assert back.layers[1].recurrent_weights is None
    for field in ("c_m", "g_leak", "e_leak", "v_threshold", "v_reset", "t_ref"):
        for a, b in zip(model.layers[:2], back.layers[:2], strict=True):
            np.testing.assert_allclose(
                float(getattr(b.neuron, field)), float(getattr(a.neuron, field)), rtol=1e-12
            )
    assert isinstance(back.layers[0].synapse, bs.InstantaneousSynapse)
    assert float(back.layers[1].synapse.tau) == pytest.approx(4.0)
    assert back.layers[2].tau == pytest.approx(readout.tau)
    np.testing.assert_allclose(np.asarray(back.layers[2].bias), [0.5, -1.0, 2.0], rtol=1e-12)

    x = _spikes(200, 5, rate=0.3)
    hidden = model.layers[0](x)
    assert 0.05 < float(hidden.mean()) < 0.6 and float(model.layers[1](hidden).mean()) > 0.02
    np.testing.assert_array_equal(np.asarray(back.layers[0](x)), np.asarray(hidden))
    np.testing.assert_allclose(np.asarray(back(x)), np.asarray(model(x)), rtol=1e-9, atol=1e-9)


def test_single_layers_export():
    dt = 1.0
    layer = RecurrentSpikingLayer(jnp.ones((2, 3)), None, bs.LIF(t_ref=0.0), dt=dt)
    graph = bnir.to_nir(layer, dt=dt)
    assert set(graph.nodes) == {"input", "layer0_weights", "layer0", "output"}
    readout = LeakyReadout(2, 3, key=KEY, dt=dt)
    graph = bnir.to_nir(readout, dt=dt)
    assert isinstance(graph.nodes["layer0"], nir.LI)
    back = bnir.layers_from_nir(graph, dt=dt)
    x = _spikes(30, 2, rate=0.5)
    np.testing.assert_allclose(np.asarray(back(x)), np.asarray(readout(x)), rtol=1e-9, atol=1e-12)


def _lif(n, tau=0.02, v_threshold=1.0, v_reset=0.0, r=1.0):
    return nir.LIF(
        tau=np.full(n, tau), r=np.full(n, r), v_leak=np.zeros(n), v_threshold=np.full(n, v_threshold),
        v_reset=np.full(n, v_reset),
    )  # fmt: skip


def _li_closed_form(spikes, weight, bias, tau, r, v_leak, dt_ms):
    r"""NIR's LI $\tau \dot u = v_\mathrm{leak} - u + R (W S + b)$ from $u = 0$, at every step end
    $(t + 1)\Delta t$, with spike row $s$ a Dirac at $s\,\Delta t$ (the layer convention)."""
    n_steps = spikes.shape[0]
    t_end = (np.arange(n_steps) + 1) * dt_ms * 1e-3
    u = (v_leak + r * bias)[None, :] * (1.0 - np.exp(-t_end[:, None] / tau))
    for s, row in enumerate(spikes):
        kick = r * (weight @ row) / tau  # (n_out,)
        since = t_end - s * dt_ms * 1e-3
        u = u + np.where(since[:, None] > 0, kick[None, :] * np.exp(-since[:, None] / tau), 0.0)
    return u


def test_nir_chain_with_li_readout_imports_as_layers():
    """Input -> Affine -> LIF -> Affine -> LI -> Output written with nir's API: the spiking layer
    fires as the `Network` import one step later (its SpikeSource delivers row t in step t + 1);
    the readout equals NIR's LI in closed form (non-uniform R and v_leak)."""
    rng = np.random.default_rng(0)
    n_in, n_h, n_out, dt = 4, 6, 3, 1.0
    w1 = rng.uniform(0.0, 0.03, (n_h, n_in))  # charge per spike: R w / tau up to 1.5 thresholds
    w2 = rng.normal(0.0, 0.01, (n_out, n_h))
    tau_li, r_li, v_leak_li, b_li = (
        0.015,
        np.array([1.0, 2.0, 0.5]),
        np.array([0.1, 0.0, -0.2]),
        np.array([0.3, -0.1, 0.0]),
    )
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([n_in])),
            "fc1": nir.Affine(weight=w1, bias=np.zeros(n_h)),
            "lif": _lif(n_h),
            "fc2": nir.Affine(weight=w2, bias=b_li),
            "li": nir.LI(tau=np.full(n_out, tau_li), r=r_li, v_leak=v_leak_li),
            "output": nir.Output(output_type=np.array([n_out])),
        },
        edges=[("input", "fc1"), ("fc1", "lif"), ("lif", "fc2"), ("fc2", "li"), ("li", "output")],
    )
    layers = bnir.layers_from_nir(graph, dt=dt)
    x = _spikes(300, n_in, rate=0.3)
    hidden = np.asarray(layers.layers[0](x))[:, 0]
    assert 0.02 < hidden.mean() < 0.6

    spiking = nir.NIRGraph(
        nodes={k: graph.nodes[k] for k in ("input", "fc1", "lif")},
        edges=[("input", "fc1"), ("fc1", "lif")],
        type_check=False,
    )
    net = bnir.from_nir(spiking, dt=dt)
    result = bs.run(net, 300 * dt, dt, key=KEY, inputs={"input": x[:, 0]})
    np.testing.assert_array_equal(np.asarray(result.outputs["lif"])[1:], hidden[:-1])

    u = np.asarray(layers(x))[:, 0]
    exact = _li_closed_form(hidden, w2, b_li, tau_li, r_li, v_leak_li, dt)
    np.testing.assert_allclose(u, exact, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("second", ["lif", "cubalif"])
def test_recurrent_chain_matches_network_import_shifted_per_layer(second):
    """Input -> Linear -> LIF (+ recurrent Linear) -> Linear -> LIF/CubaLIF (+ recurrent) -> Output:
    layer k of the stack fires as population k of the `Network` import k steps later."""
    rng = np.random.default_rng(1)
    n_in, n1, n2, dt = 4, 6, 5, 0.5
    second_node = (
        _lif(n2, tau=0.01)
        if second == "lif"
        else nir.CubaLIF(
            tau_syn=np.full(n2, 0.003), tau_mem=np.full(n2, 0.01), r=np.ones(n2), v_leak=np.zeros(n2),
            v_threshold=np.ones(n2), v_reset=np.zeros(n2), w_in=np.full(n2, 1.5),
        )
    )  # fmt: skip
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([n_in])),
            "w1": nir.Linear(weight=rng.uniform(0.0, 0.03, (n1, n_in))),
            "lif1": _lif(n1),
            "rec1": nir.Linear(weight=rng.normal(0.0, 0.01, (n1, n1))),
            "w2": nir.Linear(weight=rng.uniform(0.0, 0.012, (n2, n1))),
            "lif2": second_node,
            "rec2": nir.Linear(weight=rng.normal(0.0, 0.004, (n2, n2))),
            "output": nir.Output(output_type=np.array([n2])),
        },
        edges=[
            ("input", "w1"), ("w1", "lif1"), ("lif1", "rec1"), ("rec1", "lif1"), ("lif1", "w2"),
            ("w2", "lif2"), ("lif2", "rec2"), ("rec2", "lif2"), ("lif2", "output"),
        ],
    )  # fmt: skip
    layers = bnir.from_nir(graph, dt=dt, as_layers=True)
    assert all(layer.recurrent_weights is not None for layer in layers.layers)
    n_steps = 400
    x = _spikes(n_steps, n_in, rate=0.3)
    s1 = np.asarray(layers.layers[0](x))[:, 0]
    s2 = np.asarray(layers(x))[:, 0]
    assert s1.mean() > 0.02 and s2.mean() > 0.02
    net = bnir.from_nir(graph, dt=dt)
    result = bs.run(net, n_steps * dt, dt, key=KEY, inputs={"input": x[:, 0]})
    np.testing.assert_array_equal(np.asarray(result.outputs["lif1"])[1:], s1[:-1])
    np.testing.assert_array_equal(np.asarray(result.outputs["lif2"])[2:], s2[:-2])


def _chain(**extra):
    nodes = {
        "input": nir.Input(input_type=np.array([2])),
        "w": nir.Linear(weight=np.ones((2, 2))),
        "lif": _lif(2),
        "output": nir.Output(output_type=np.array([2])),
    }
    nodes.update(extra)
    return nodes


def test_import_refusals_name_the_node():
    edges = [("input", "w"), ("w", "lif"), ("lif", "output")]
    delay = _chain(d=nir.Delay(delay=np.full(2, 0.001)))
    with pytest.raises(ValueError, match="`d` \\(Delay\\)"):
        bnir.layers_from_nir(
            nir.NIRGraph(delay, edges[:1] + [("w", "d"), ("d", "lif"), ("lif", "output")], type_check=False),
            dt=1.0,
        )
    conv = _chain(
        conv=nir.Conv1d(
            input_shape=None,
            weight=np.ones((2, 2, 1)),
            stride=1,
            padding=0,
            dilation=1,
            groups=1,
            bias=np.zeros(2),
        )
    )
    with pytest.raises(TypeError, match="`conv` \\(Conv1d\\)"):
        bnir.layers_from_nir(nir.NIRGraph(conv, edges + [("lif", "conv")], type_check=False), dt=1.0)
    branch = _chain(w_b=nir.Linear(weight=np.ones((2, 2))), lif_b=_lif(2))
    with pytest.raises(ValueError, match="`lif` \\(LIF\\): branches"):
        bnir.layers_from_nir(
            nir.NIRGraph(branch, edges + [("lif", "w_b"), ("w_b", "lif_b")], type_check=False), dt=1.0
        )
    biased = _chain(w=nir.Affine(weight=np.ones((2, 2)), bias=np.ones(2)))
    with pytest.raises(ValueError, match="`lif` \\(LIF\\): receives a non-zero bias from `w`"):
        bnir.layers_from_nir(nir.NIRGraph(biased, edges, type_check=False), dt=1.0)
    li = {
        "input": nir.Input(input_type=np.array([2])),
        "w": nir.Linear(weight=np.ones((2, 2))),
        "li": nir.LI(tau=np.array([0.01, 0.02]), r=np.ones(2), v_leak=np.zeros(2)),
        "output": nir.Output(output_type=np.array([2])),
    }
    with pytest.raises(ValueError, match="`li` \\(LI\\): `tau` must be > 0 and the same"):
        bnir.layers_from_nir(
            nir.NIRGraph(li, [("input", "w"), ("w", "li"), ("li", "output")], type_check=False), dt=1.0
        )
    if_node = _chain(lif=nir.IF(r=np.ones(2), v_threshold=np.ones(2), v_reset=np.zeros(2)))
    with pytest.raises(TypeError, match="`lif` \\(IF\\)"):
        bnir.layers_from_nir(nir.NIRGraph(if_node, edges, type_check=False), dt=1.0)


def test_export_refusals_name_the_layer():
    w = jnp.ones((2, 3))
    with pytest.raises(TypeError, match="layer 0 .*ALIF has no NIR counterpart"):
        bnir.to_nir(RecurrentSpikingLayer(w, None, bs.ALIF()), dt=1.0)
    with pytest.raises(ValueError, match=r"`layer0` \(layer 0\): `t_ref` must be 0"):
        bnir.to_nir(RecurrentSpikingLayer(w, None, bs.LIF()), dt=1.0)
    with pytest.raises(ValueError, match="layer 0 .*dt = 1.0 ms but `dt` = 0.5"):
        bnir.to_nir(RecurrentSpikingLayer(w, None, bs.LIF(t_ref=0.0)), dt=0.5)
    with pytest.raises(ValueError, match="`LeakyReadout` must be the last layer"):
        bnir.to_nir(
            stack(
                LeakyReadout(2, 3, key=KEY), RecurrentSpikingLayer(jnp.ones((3, 2)), None, bs.LIF(t_ref=0.0))
            ),
            dt=1.0,
        )
    with pytest.raises(ValueError, match="`outputs` applies to `Network`s"):
        bnir.to_nir(LeakyReadout(2, 3, key=KEY), dt=1.0, outputs=["x"])
    with pytest.raises(TypeError, match="`model` must be"):
        bnir.to_nir("net", dt=1.0)
