"""Tests of `brainsim/network.py`: construction errors, delays, the synapse graph."""

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs


def _pop(name, n=3, **kwargs):
    return bs.Population(name, n, bs.LIF(), **kwargs)


def test_unknown_population_in_projection():
    proj = bs.Projection("A", "B", bs.FixedProbability(0.5, weight=1.0), bs.ExponentialSynapse(), bs.CUBA())
    with pytest.raises(ValueError, match="unknown post population `B`"):
        bs.Network([_pop("A")], [proj], key=jr.key(0))


def test_duplicate_names_rejected():
    with pytest.raises(ValueError, match="`A` appears twice"):
        bs.Network([_pop("A"), _pop("A")])


def test_deterministic_rules_need_no_key():
    proj = bs.Projection("A", "A", bs.OneToOne(weight=1.0), bs.ExponentialSynapse(), bs.CUBA())
    net = bs.Network([_pop("A")], [proj])
    np.testing.assert_array_equal(np.asarray(bs.ops.to_dense(net.projections[0].connectivity)), np.eye(3))


def test_rule_without_key_rejected():
    proj = bs.Projection("A", "A", bs.FixedProbability(0.5, weight=1.0), bs.ExponentialSynapse(), bs.CUBA())
    with pytest.raises(ValueError, match="random connectivity rule; pass `key=`"):
        bs.Network([_pop("A")], [proj])


def test_heterogeneous_parameter_shape_checked():
    with pytest.raises(
        ValueError, match=r"`v_threshold` of population `A` must be a scalar or have shape \(3,\)"
    ):
        bs.Population("A", 3, bs.LIF(v_threshold=jnp.array([-50.0, -49.0])))


def test_bad_delay_and_neuron_types():
    with pytest.raises(ValueError, match="`delay_steps` must be an integer >= 1"):
        bs.Projection("A", "A", bs.OneToOne(weight=1.0), bs.ExponentialSynapse(), bs.CUBA(), delay_steps=0)
    with pytest.raises(TypeError, match="`neuron` of population `A`"):
        bs.Population("A", 3, bs.ExponentialSynapse())
    with pytest.raises(TypeError, match="`delay_steps` must be an integer"):
        bs.Projection("A", "A", bs.OneToOne(weight=1.0), bs.ExponentialSynapse(), bs.CUBA(), delay_steps=1.5)


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
            bs.Population("B", 1, quiet, initial_state=bs.LIFState(jnp.full(1, -70.0), jnp.zeros(1))),
        ],
        [
            bs.Projection(
                "A",
                "B",
                bs.OneToOne(weight=1000.0),
                bs.ExponentialSynapse(tau=1e6),
                bs.CUBA(),
                delay_steps=delay,
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
    net = bs.models.COBANetwork(n=500, key=jr.key(0))
    graph = net.synapse_graph()
    assert graph.population_names == ("E", "I") and graph.population_sizes == (400, 100)
    pre, post, weight, delay = graph.global_edges()
    assert graph.n_synapses == len(pre) == len(post) == len(weight)
    assert set(np.unique(weight)) == {6.0, 67.0}
    assert np.all(delay == 1)
    assert np.all(weight[pre < 400] == 6.0) and np.all(weight[pre >= 400] == 67.0)
    assert abs(len(pre) / (500 * 500) - 0.02) < 0.003


def _one_spike_at(step):
    return bs.SpikeTimes(
        "A",
        times=[step * 0.1 + 0.05],
        indices=[0],
        weight=1e6,
        synapse=bs.ExponentialSynapse(tau=0.01),
        output=bs.CUBA(),
    )


def _first_change_per_neuron(result, name):
    v = np.asarray(result.traces[name])
    moved = np.abs(np.diff(v, axis=0)) > 1e-3
    return moved.argmax(axis=0) + 1  # trace sample k = state after step k


@pytest.mark.parametrize("max_delay", [None, 12])
def test_per_synapse_delays_arrive_after_exactly_their_delay(max_delay):
    spike_step, n_targets = 3, 8
    delays = np.arange(1, n_targets + 1)  # synapse j -> target j, delay j + 1 steps
    conn = bs.FromArrays(np.zeros(n_targets, int), np.arange(n_targets), 1000.0)
    rest = bs.LIFState(jnp.full(n_targets, -70.0), jnp.zeros(n_targets))
    net = bs.Network(
        [
            bs.Population("A", 1, bs.LIF(t_ref=0.0)),
            bs.Population("B", n_targets, bs.LIF(v_threshold=1e9, v_reset=-60.0), initial_state=rest),
        ],
        [
            bs.Projection(
                "A",
                "B",
                conn,
                bs.ExponentialSynapse(tau=1e6),
                bs.CUBA(),
                delay_steps=delays,
                max_delay_steps=max_delay,
            )
        ],
        [_one_spike_at(spike_step)],
        key=jr.key(0),
    )
    result = bs.simulate(net, 3.0, 0.1, key=jr.key(0), monitors=["B.v"])
    assert list(result.spike_steps["A"]) == [spike_step]
    np.testing.assert_array_equal(_first_change_per_neuron(result, "B.v"), spike_step + delays)
    graph_delay = net.synapse_graph().projections[0].delay
    np.testing.assert_array_equal(np.sort(graph_delay), delays)


def test_delays_longer_than_the_buffer_are_rejected():
    conn = bs.FromArrays([0, 0], [0, 1], 1.0)
    with pytest.raises(ValueError, match=r"delays must be in \[1, 4\] steps"):
        bs.Network(
            [_pop("A", 1), _pop("B", 2)],
            [
                bs.Projection(
                    "A",
                    "B",
                    conn,
                    bs.ExponentialSynapse(),
                    bs.CUBA(),
                    delay_steps=np.array([2, 7]),
                    max_delay_steps=4,
                )
            ],
            key=jr.key(0),
        )
    with pytest.raises(ValueError, match=r"delays must be in \[1, "):
        bs.Network(
            [_pop("A", 1), _pop("B", 2)],
            [bs.Projection("A", "B", conn, bs.ExponentialSynapse(), bs.CUBA(), delay_steps=np.array([0, 1]))],
            key=jr.key(0),
        )


def test_delay_rules_draw_in_range_and_by_distance():
    key = jr.key(1)
    conn = bs.FixedProbability(0.2, weight=1.0).build(50, 40, key=key)
    uniform = np.asarray(bs.UniformDelay(2, 6).draw(conn, key=key))
    assert uniform.min() == 2 and uniform.max() == 6
    assert np.all(np.asarray(bs.ConstantDelay(3).draw(conn, key=key)) == 3)
    pre_xy = np.stack([np.arange(50.0), np.zeros(50)], axis=1)
    post_xy = np.stack([np.arange(40.0), np.ones(40)], axis=1)
    by_distance = np.asarray(bs.DistanceDelay(pre_xy, post_xy, distance_per_step=2.0).draw(conn, key=key))
    pre, post, _ = bs.ops.to_coo(conn)
    expected = np.maximum(1, np.ceil(np.hypot(pre - post, 1.0) / 2.0))
    np.testing.assert_array_equal(by_distance, expected)
    with pytest.raises(ValueError, match="`high` must be >= `low`"):
        bs.UniformDelay(5, 2)


def test_network_with_uniform_delays_runs_and_reports_them():
    net = bs.Network(
        [bs.Population("E", 200, bs.LIF(e_leak=-45.0))],
        [
            bs.Projection(
                "E",
                "E",
                bs.FixedProbability(0.05, weight=0.5),
                bs.ExponentialSynapse(),
                bs.COBA(e_rev=0.0),
                delay_steps=bs.UniformDelay(1, 15),
            )
        ],
        key=jr.key(0),
    )
    result = bs.simulate(net, 50.0, key=jr.key(1))
    assert float(result.rates["E"]) > 0
    delay = net.synapse_graph().projections[0].delay
    assert delay.min() == 1 and delay.max() == 15 and net.projections[0].max_delay_steps == 15


def test_synapse_and_output_parameter_shapes_are_checked_before_compiling():
    a = bs.Population("A", 4, bs.LIF())
    conn = bs.Dense(jnp.ones((4, 4)))
    with pytest.raises(
        ValueError,
        match=r"`tau` of the synapse of projection `A->A` \(onto `A`\) must be a scalar or have shape \(4,\)",
    ):
        bs.Network([a], [bs.Projection("A", "A", conn, bs.ExponentialSynapse(tau=jnp.ones(3)), bs.CUBA())])
    with pytest.raises(ValueError, match=r"`e_rev` of the output of projection `A->A`"):
        bs.Network([a], [bs.Projection("A", "A", conn, bs.ExponentialSynapse(), bs.COBA(e_rev=jnp.zeros(5)))])
    with pytest.raises(ValueError, match=r"`tau` of the synapse of input PoissonInput to `A`"):
        bs.Network(
            [a],
            inputs=[bs.PoissonInput("A", 5, 10.0, 1.0, bs.ExponentialSynapse(tau=jnp.ones(2)), bs.CUBA())],
        )


def test_spike_times_must_hit_existing_neurons():
    source = bs.SpikeTimes(
        "A", times=[1.0], indices=[4], weight=1.0, synapse=bs.ExponentialSynapse(), output=bs.CUBA()
    )
    with pytest.raises(
        ValueError, match=r"`indices` of `SpikeTimes` must be < 4 \(the size of `A`\); got max 4"
    ):
        bs.Network([bs.Population("A", 4, bs.LIF())], inputs=[source])
