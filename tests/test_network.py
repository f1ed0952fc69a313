"""Tests of `brainsim/network.py`: construction errors, delays, the synapse graph."""

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs


def _pop(name, n=3, **kwargs):
    return bs.Population(name, n, bs.LIF(), **kwargs)


def test_unknown_population_in_projection():
    proj = bs.Projection(
        "A", "B", bs.FixedProbability(0.5, weight=1.0), bs.ExponentialSynapse(), bs.CUBA()
    )
    with pytest.raises(ValueError, match="unknown post population `B`"):
        bs.Network([_pop("A")], [proj], key=jr.key(0))


def test_duplicate_names_rejected():
    with pytest.raises(ValueError, match="`A` appears twice"):
        bs.Network([_pop("A"), _pop("A")])


def test_rule_without_key_rejected():
    proj = bs.Projection(
        "A", "A", bs.FixedProbability(0.5, weight=1.0), bs.ExponentialSynapse(), bs.CUBA()
    )
    with pytest.raises(ValueError, match="pass `key=`"):
        bs.Network([_pop("A")], [proj])


def test_heterogeneous_parameter_shape_checked():
    with pytest.raises(
        ValueError, match=r"`v_threshold` of population `A` must be a scalar or have shape \(3,\)"
    ):
        bs.Population("A", 3, bs.LIF(v_threshold=jnp.array([-50.0, -49.0])))


def test_bad_delay_and_neuron_types():
    with pytest.raises(ValueError, match="`delay` must be an integer >= 1"):
        bs.Projection(
            "A", "A", bs.OneToOne(weight=1.0), bs.ExponentialSynapse(), bs.CUBA(), delay=0
        )
    with pytest.raises(TypeError, match="`neuron` of population `A`"):
        bs.Population("A", 3, bs.ExponentialSynapse())
    with pytest.raises(TypeError, match="`delay` must be an integer"):
        bs.Projection(
            "A", "A", bs.OneToOne(weight=1.0), bs.ExponentialSynapse(), bs.CUBA(), delay=1.5
        )


@pytest.mark.parametrize("delay", [1, 2, 5])
def test_spike_arrives_after_exactly_delay_steps(delay):
    # A drives B one-to-one; A fires once at a known step; B's synapse jumps `delay` steps later.
    spike_step = 3
    source = bs.SpikeTimes(
        "A",
        times=[spike_step * 0.1 + 0.05],
        indices=[0],
        weight=1e6,
        synapse=bs.ExponentialSynapse(tau=0.01),
        output=bs.CUBA(),
    )
    quiet = bs.LIF(v_threshold=1e9, v_reset=-60.0)
    net = bs.Network(
        [
            bs.Population("A", 1, bs.LIF(t_ref=0.0)),
            bs.Population(
                "B", 1, quiet, initial_state=bs.LIFState(jnp.full(1, -70.0), jnp.zeros(1))
            ),
        ],
        [
            bs.Projection(
                "A",
                "B",
                bs.OneToOne(weight=1000.0),
                bs.ExponentialSynapse(tau=1e6),
                bs.CUBA(),
                delay=delay,
            )
        ],
        [source],
        key=jr.key(0),
    )
    result = bs.simulate(net, 3.0, 0.1, key=jr.key(0), monitors=["B.v"])
    fired = result.spike_steps["A"]
    assert list(fired) == [spike_step]
    v = np.asarray(result.traces["B.v"][:, 0])
    first_change = int(np.flatnonzero(np.abs(np.diff(v)) > 1e-3)[0]) + 1
    # trace sample k holds v after step k; B integrates the delivered current in step spike+delay
    assert first_change == spike_step + delay


def test_synapse_graph_matches_connectivity():
    net = bs.models.COBA(n=500, key=jr.key(0))
    graph = net.synapse_graph()
    assert graph.population_names == ("E", "I") and graph.population_sizes == (400, 100)
    pre, post, weight, delay = graph.global_edges()
    assert graph.n_synapses == len(pre) == len(post) == len(weight)
    assert set(np.unique(weight)) == {6.0, 67.0}
    assert np.all(delay == 1)
    assert np.all(weight[pre < 400] == 6.0) and np.all(weight[pre >= 400] == 67.0)
    assert abs(len(pre) / (500 * 500) - 0.02) < 0.003
