"""Weights that live in the state: changed between runs through the state, seen by the next run."""

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs


def _net(fmt):
    n_in, n_out = 20, 10
    rule = bs.FixedInDegree(5, weight=200.0) if fmt == "ell" else bs.FixedProbability(0.3, weight=200.0)
    if fmt == "dense":
        rule = bs.Dense(jnp.full((n_in, n_out), 40.0))
    return bs.Network(
        [bs.Population("in", n_in, bs.LIF(t_ref=0.0)), bs.Population("out", n_out, bs.LIF())],
        [bs.Projection("in", "out", rule, bs.ExponentialSynapse(tau=5.0), bs.CUBA(), plastic=True)],
        [bs.ConstantCurrent("in", 400.0)],
        key=jr.key(0),
    )


@pytest.mark.parametrize("fmt", ["csr", "ell", "dense"])
def test_weights_changed_through_the_state_act_in_the_next_run(fmt):
    net = _net(fmt)
    first = bs.simulate(net, 50.0, key=jr.key(1), monitors=["in->out.weights"])
    state = first.final_state
    weights = state.projections["in->out"].weights
    assert first.traces["in->out.weights"].shape[1:] == weights.shape  # monitored like any state
    assert first.rates["out"] > 0
    silenced = eqx.tree_at(lambda s: s.projections["in->out"].weights, state, jnp.zeros_like(weights))
    quiet = bs.simulate(net, 50.0, key=jr.key(1), initial_state=silenced)
    unchanged = bs.simulate(net, 50.0, key=jr.key(1), initial_state=state)
    # only the synaptic current already in flight remains: `out` falls silent within a few ms
    assert quiet.spike_counts["out"][100:].sum() == 0
    assert unchanged.spike_counts["out"][100:].sum() > 0
    # the synapse graph reports the weights of the state it is given
    halved = eqx.tree_at(lambda s: s.projections["in->out"].weights, state, weights / 2)
    initial = net.synapse_graph().projections[0]
    graph = net.synapse_graph(halved).projections[0]
    np.testing.assert_array_equal(graph.pre, initial.pre)
    np.testing.assert_allclose(graph.weight, initial.weight / 2)


def test_plastic_weights_match_fixed_weights_until_changed():
    net = _net("csr")
    p = net.projections[0]
    fixed = bs.Network(
        net.populations, [bs.Projection(p.pre, p.post, p.connectivity, p.synapse, p.output)], net.inputs
    )
    a = bs.simulate(net, 30.0, key=jr.key(2), engine="generic")
    b = bs.simulate(fixed, 30.0, key=jr.key(2), engine="generic")
    np.testing.assert_array_equal(a.spike_indices["out"], b.spike_indices["out"])


def test_procedural_cannot_be_plastic():
    with pytest.raises(TypeError, match="`Procedural` connectivity cannot hold per-synapse weights"):
        bs.Network(
            [bs.Population("A", 10, bs.LIF())],
            [
                bs.Projection(
                    "A",
                    "A",
                    bs.Procedural(jr.key(0), 10, 10, degree=2, weight=1.0),
                    bs.ExponentialSynapse(),
                    bs.CUBA(),
                    plastic=True,
                )
            ],
        )
