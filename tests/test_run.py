"""`run`: the pure, transformable simulation (jit, vmap, grad, checkpoint) and its data channel."""

import chex
import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs


def _readout(n_in=8, n_out=4):
    """A data-fed spike source -> LIF readout, plus a streamed current."""
    return bs.Network(
        [bs.Population("digits", n_in, bs.SpikeSource()), bs.Population("out", n_out, bs.LIF())],
        [
            bs.Projection(
                "digits",
                "out",
                bs.Dense(jnp.full((n_in, n_out), 60.0)),
                bs.ExponentialSynapse(tau=5.0),
                bs.CUBA(),
            )
        ],
        [bs.StreamedCurrent("out", "bias")],
    )


def _spike_data(key, steps=200, n_in=8, rate_hz=100.0, dt=0.1):
    return (jr.uniform(key, (steps, n_in)) < rate_hz * dt * 1e-3).astype(jnp.float32)


def test_data_streams_through_the_scan_under_jit_and_vmap():
    net, steps = _readout(), 200
    batch = jnp.stack([_spike_data(jr.key(k), steps, rate_hz=r) for k, r in enumerate((0.0, 200.0, 800.0))])
    bias = jnp.full((steps,), 150.0)

    @jax.jit
    def counts(spikes):
        result = bs.run(net, steps * 0.1, key=jr.key(0), inputs={"digits": spikes, "bias": bias})
        return result.spike_counts["out"].sum()

    batched = jax.vmap(counts)(batch)
    single = jnp.stack([counts(x) for x in batch])
    np.testing.assert_array_equal(batched, single)
    assert batched[0] == 0 and batched[0] < batched[1] < batched[2]  # more input spikes, more output
    host = bs.simulate(
        net, steps * 0.1, key=jr.key(0), inputs={"digits": np.asarray(batch[2]), "bias": bias}, chunk_steps=64
    )
    assert host.spike_counts["out"].sum() == int(single[2])  # chunked host driver, same data, same spikes


def test_streamed_current_equals_a_constant_current():
    const = bs.Network([bs.Population("P", 3, bs.LIF())], inputs=[bs.ConstantCurrent("P", 300.0)])
    streamed = bs.Network([bs.Population("P", 3, bs.LIF())], inputs=[bs.StreamedCurrent("P", "drive")])
    a = bs.run(const, 50.0, key=jr.key(0))
    b = bs.run(streamed, 50.0, key=jr.key(0), inputs={"drive": jnp.full((500, 3), 300.0)})
    np.testing.assert_array_equal(a.outputs["P"], b.outputs["P"])
    assert a.outputs["P"].sum() > 0


def test_inputs_are_checked_before_compiling():
    net = _readout()
    good = {"digits": jnp.zeros((100, 8)), "bias": jnp.zeros(100)}
    with pytest.raises(ValueError, match=r"missing \['bias'\]"):
        bs.run(net, 10.0, key=jr.key(0), inputs={"digits": good["digits"]})
    with pytest.raises(ValueError, match=r"`inputs\['digits'\]` must have shape \(100, 8\)"):
        bs.run(net, 10.0, key=jr.key(0), inputs={**good, "digits": jnp.zeros((99, 8))})


def test_nan_under_jit_raises_naming_the_population():
    net = bs.Network(
        [bs.Population("quiet", 2, bs.LIF()), bs.Population("P", 2, bs.LIF())],
        inputs=[bs.CurrentFunction("P", lambda t: jnp.where(t > 0.45, jnp.nan, 0.0))],
    )
    with pytest.raises(Exception, match="population `P`: state became NaN/Inf"):
        jax.block_until_ready(eqx.filter_jit(lambda n: bs.run(n, 1.0, key=jr.key(0)).spike_counts)(net))


def _drive_network(current):
    return bs.Network(
        [bs.Population("E", 200, bs.LIF())],
        [
            bs.Projection(
                "E", "E", bs.FixedInDegree(10, weight=0.5), bs.ExponentialSynapse(), bs.COBA(e_rev=0.0)
            )
        ],
        [
            bs.ConstantCurrent("E", current),
            bs.PoissonInput("E", 50, 20.0, 2.0, bs.ExponentialSynapse(), bs.COBA(e_rev=0.0)),
        ],
        key=jr.key(5),
    )


def test_grad_of_a_loss_on_rates_is_nonzero_with_the_sign_of_finite_differences():
    def rate(current):
        return bs.run(_drive_network(current), 100.0, key=jr.key(1)).rates["E"]

    grad = float(jax.grad(rate)(180.0))
    numeric = float(
        (rate(200.0) - rate(160.0)) / 40.0
    )  # Hz per pA, over a wide step: rates are piecewise constant
    assert numeric > 0 and grad > 0


def test_a_sweep_through_run_under_vmap_compiles_once():
    chex.clear_trace_counter()
    base = _drive_network(0.0)

    @jax.jit
    @jax.vmap
    @chex.assert_max_traces(n=1)
    def rate(current):
        net = eqx.tree_at(lambda n: n.inputs[0].current, base, current)
        return bs.run(net, 20.0, key=jr.key(0)).rates["E"]

    rates = rate(jnp.linspace(0.0, 400.0, 20))
    rate(jnp.linspace(10.0, 410.0, 20))  # new values, same shapes: no new trace
    assert rates.shape == (20,) and rates[-1] > rates[0]


def test_checkpointed_and_plain_runs_give_the_same_gradients():
    def loss(scale, checkpoint_every):
        net = _drive_network(150.0)
        net = eqx.tree_at(
            lambda n: n.projections[0].connectivity,
            net,
            bs.ops.scale_weights(net.projections[0].connectivity, scale),
        )
        result = bs.run(net, 20.0, key=jr.key(2), monitors=["E.v"], checkpoint_every=checkpoint_every)
        return jnp.mean(result.traces["E.v"]) + result.rates["E"]

    plain = jax.grad(loss)(1.0, None)
    checkpointed = jax.grad(loss)(1.0, 20)
    np.testing.assert_allclose(checkpointed, plain, rtol=1e-6)
    assert plain != 0
    with pytest.raises(ValueError, match="must divide the number of steps"):
        bs.run(_drive_network(150.0), 20.0, key=jr.key(2), checkpoint_every=30)


def test_initial_states_are_not_parameters():
    pop = bs.Population("P", 2, bs.LIF(), initial_state=bs.LIFState(jnp.full(2, -65.0), jnp.zeros(2)))
    net = bs.Network([pop])
    params = eqx.filter(net, eqx.is_inexact_array)
    assert not any(np.shape(x) == (2,) for x in jax.tree_util.tree_leaves(params))
    np.testing.assert_array_equal(net.init_state(key=jr.key(0)).populations["P"].neuron.v, [-65.0, -65.0])


def test_bad_arguments_name_what_is_wrong():
    net = _drive_network(150.0)
    with pytest.raises(TypeError, match="`key` must be a `jax.random` key"):
        bs.run(net, 1.0, key=0)
    with pytest.raises(TypeError, match="`key` must be a `jax.random` key"):
        bs.simulate(net, 1.0, key=0)
    state = net.init_state(key=jr.key(0))
    bad = eqx.tree_at(lambda s: s.populations["E"].neuron.v, state, jnp.zeros(3))
    with pytest.raises(
        ValueError, match=r"initial_state\.populations\['E'\]\.neuron\.v` must have shape \(200,\)"
    ):
        bs.simulate(net, 1.0, key=jr.key(0), initial_state=bad)
    with pytest.raises(ValueError, match=r"`rate` \* `dt` \* 1e-3 must be <= 1"):
        bs.simulate(
            bs.Network(
                [bs.Population("A", 2, bs.LIF())],
                inputs=[bs.PoissonInput("A", 5, 20_000.0, 1.0, bs.ExponentialSynapse(), bs.CUBA())],
            ),
            1.0,
            key=jr.key(0),
        )
    with pytest.raises(
        ValueError, match=r"input ConstantCurrent to `A`: its current must be a scalar or have shape \(2,\)"
    ):
        bs.Network([bs.Population("A", 2, bs.LIF())], inputs=[bs.ConstantCurrent("A", jnp.ones(3))])
    with pytest.raises(ValueError, match="negative reversal potential"):
        bs.Network(
            [bs.Population("A", 2, bs.LIF())],
            [
                bs.Projection(
                    "A", "A", bs.Dense(-jnp.ones((2, 2))), bs.ExponentialSynapse(), bs.COBA(e_rev=-80.0)
                )
            ],
        )
    with pytest.raises(ValueError, match="need distinct `name=`s"):
        conn = bs.Dense(jnp.ones((2, 2)))
        bs.Network(
            [bs.Population("A", 2, bs.LIF())],
            [
                bs.Projection("A", "A", conn, bs.ExponentialSynapse(), bs.CUBA()),
                bs.Projection("A", "A", conn, bs.AlphaSynapse(), bs.CUBA()),
            ],
        )


def test_monitors_read_synapse_state_and_any_function_of_the_state():
    net = _drive_network(150.0)
    total_g = bs.Monitor("total g", lambda s: jnp.sum(s.projections["E->E"].synapse.g), every=5)
    result = bs.simulate(net, 10.0, key=jr.key(0), monitors=["E->E.g", total_g])
    np.testing.assert_allclose(result.traces["total g"], result.traces["E->E.g"][4::5].sum(axis=1), rtol=1e-5)
    assert result.traces["E->E.g"].shape == (100, 200)
    with pytest.raises(KeyError, match="Traces exist for the `monitors`"):
        result.traces["E.v"]


def test_the_state_is_typed_and_keeps_its_structure_through_a_run():
    net = _drive_network(150.0)
    initial = net.init_state(key=jr.key(0))
    final = bs.run(net, 2.0, key=jr.key(0), initial_state=initial).final_state
    chex.assert_trees_all_equal_shapes_and_dtypes(initial, final)
    assert isinstance(final.projections["E->E"], bs.ProjectionState)
    assert isinstance(final.inputs[1].synapse, bs.ExponentialSynapseState)  # the PoissonInput's
    assert final.inputs[0].synapse is None  # a current input has no state


def test_float64_end_to_end_on_the_generic_engine():
    with jax.enable_x64(True):
        net = _drive_network(150.0)
        result = bs.simulate(net, 5.0, key=jr.key(0))
        assert "float32" in bs.fused_plan(net)[1] or "float64" in bs.fused_plan(net)[1]
        state_dtypes = {
            x.dtype
            for x in jax.tree_util.tree_leaves(result.final_state)
            if jnp.issubdtype(x.dtype, jnp.floating)
        }
        assert state_dtypes == {jnp.dtype("float64")}
        pure = bs.run(net, 5.0, key=jr.key(0))
        assert pure.outputs["E"].dtype == jnp.float64
        np.testing.assert_array_equal(np.asarray(pure.spike_counts["E"]), result.spike_counts["E"])


class _SqrtUnit(bs.AbstractValueNeuron):
    """dr/dt = sqrt(r) + I: its derivative in r is infinite at r = 0 (a model that breaks the
    backward pass while the forward pass stays finite)."""

    def init_state(self, n, *, key=None):
        return bs.RateState(r=jnp.zeros(n))

    def vector_field(self, t, y, args):
        return bs.RateState(
            r=jnp.sqrt(y.r) + bs.dynamics.synaptic_input.as_synaptic_input(args).current_at_zero
        )

    def value(self, y):
        return y.r


def test_nan_in_the_backward_pass_raises():
    def loss(current):
        net = bs.Network(
            [bs.Population("U", 2, _SqrtUnit(), solver=bs.DiffraxStepper(diffrax.Euler()))],
            inputs=[bs.StreamedCurrent("U", "I")],
        )
        return bs.run(net, 1.0, key=jr.key(0), inputs={"I": jnp.full((10,), current)}).outputs["U"].sum()

    assert np.isfinite(loss(0.0))  # the forward pass is fine
    with pytest.raises(Exception, match="gradient flowing back through the network state became NaN/Inf"):
        jax.block_until_ready(jax.grad(loss)(0.0))
