import json

import jax
import numpy as np
import pytest

import brainsim as bs
import brainsim.hardware as hw


@pytest.fixture(scope="module")
def coba_runs():
    net = bs.models.COBANetwork(n=1000, key=jax.random.key(0))
    r8 = hw.constrained_simulation(net, hw.Chip.loihi(), 300.0, 0.1, key=jax.random.key(1), weight_bits=8)
    r1 = hw.constrained_simulation(
        net, hw.Chip.loihi(), 300.0, 0.1, key=jax.random.key(1), weight_bits=1, ideal=r8.ideal
    )
    return net, r8, r1


def test_eight_bit_weights_keep_rates_within_5_percent(coba_runs):
    _, r8, _ = coba_runs
    for name, change in r8.divergence.rate_change.items():
        assert abs(change) < 0.05, name
    # 6 nS on a 67/255 nS grid: 23 steps = 6.043 nS, 0.72% off; 67 nS is exact
    assert r8.weights["relative_error"]["E->E"] == pytest.approx(
        abs(23 * 67 / 255 - 6) / 6, rel=1e-4
    )  # float32
    assert r8.weights["relative_error"]["I->E"] == 0.0
    assert r8.extra_delay_steps == {"E->E": 0, "E->I": 0, "I->E": 0, "I->I": 0}  # ns routes, 0.1 ms steps
    back = json.loads(json.dumps(r8.to_dict()))
    assert back["chip"] == r8.mapping.chip.name and back["extra_delay_steps"] == r8.extra_delay_steps
    assert back["divergence"]["rate_change"] == r8.divergence.rate_change
    assert back["weights"]["relative_error"]["I->E"] == 0.0 and back["notes"] == list(r8.notes)


def test_one_bit_weights_diverge_and_the_report_says_by_how_much(coba_runs):
    _, r8, r1 = coba_runs
    assert r1.weights["zeroed"]["E->E"] == 1  # 6 nS rounds to 0 on a 67 nS grid
    assert r1.divergence.divergence > r8.divergence.divergence
    assert max(abs(c) for c in r1.divergence.rate_change.values()) > 0.2


def test_identical_runs_have_no_divergence(coba_runs):
    _, r8, _ = coba_runs
    d = hw.spike_divergence(r8.ideal, r8.ideal)
    assert d.coincidence == 1.0 and d.rate_rms_hz == 0.0 and all(v == 0 for v in d.rate_change.values())


def test_clocked_chip_adds_tick_delay_and_it_is_applied():
    net = bs.models.COBANetwork(n=200, key=jax.random.key(0))
    graph = hw.from_network(net, rates=10.0)
    mapping = hw.map_network(graph, hw.Chip.spinnaker(), "pacman", seed=0)
    extra = hw.noc_extra_delay(net, mapping, 0.1)
    assert set(extra.values()) == {9}  # 1 ms tick at 0.1 ms steps: 10 steps instead of 1
    delayed = hw.add_noc_delay(net, extra)
    assert [p.delay_steps for p in delayed.projections] == [10, 10, 10, 10]
    assert delayed.history_lengths() == {"E": 10, "I": 10}


def test_fan_in_limit_drops_the_weakest():
    net = bs.models.COBANetwork(n=200, key=jax.random.key(0))
    sg = net.synapse_graph()
    pre, post, _, _ = sg.global_edges()
    fan_in = np.bincount(post, minlength=sg.n_neurons)
    limited, dropped = hw.enforce_fan_in(net, 3)
    assert dropped == int(np.maximum(fan_in - 3, 0).sum())
    kept = [np.asarray(p.connectivity.weights) for p in limited.projections]
    assert all(k.ndim == 1 for k in kept)  # homogeneous weights became per-synapse
    # inhibitory (67 nS) inputs are kept before excitatory (6 nS) ones
    assert np.count_nonzero(kept[2]) + np.count_nonzero(kept[3]) == int(
        np.minimum(
            np.bincount(
                np.concatenate([p.post + sg.offsets[p.post_population] for p in sg.projections[2:]]),
                minlength=sg.n_neurons,
            ),
            3,
        ).sum()
    )


def test_bad_arguments():
    net = bs.models.COBANetwork(n=100, key=jax.random.key(0))
    with pytest.raises(ValueError, match="`bits` must be an integer in \\[1, 32\\]"):
        hw.quantise_weights(net, 0)
    with pytest.raises(ValueError, match="`max_fan_in` must be an integer >= 1"):
        hw.enforce_fan_in(net, 0)
