"""Pair STDP in the fused engine (`brainsim/ops/_native/pair_stdp.h`) against the generic
engine's `apply_plasticity`.

The kernel does the rule's operations in the generic step's order with the same float32
arithmetic (including XLA's fused multiply-add of a trace's decay and count), so the weights,
the traces and the spikes are compared exactly, bit for bit, on CSR and on padded ELL
connectivity, for both pairings, with one and two threads, across chunkings and resumes.
"""

import jax.random as jr
import numpy as np
import pytest
from test_fused import _assert_same_spikes, _assert_same_state, _run, needs_fused

import brainsim as bs
from brainsim.dynamics.plasticity import PairSTDP, TripletSTDP

RULE = dict(a_plus=0.3, a_minus=0.315, w_min=0.0, w_max=12.0)


def _coba(pairing="all", n=500):
    """Brian2's COBA network with pair STDP on E->E (CSR connectivity)."""
    return bs.models.COBANetwork(n, key=jr.key(1), plasticity={"E->E": PairSTDP(**RULE, pairing=pairing)})


def _ell_network():
    """E (LIF, driven) -> E plastic on padded `ELL` (`seed_stable=True`), and a plastic E -> O
    projection to a population that nothing reads (no spike history: the kernel lists its
    spikes separately)."""
    lif = bs.LIF(c_m=200.0, g_leak=10.0, e_leak=-60.0, v_threshold=-50.0, v_reset=-60.0, t_ref=5.0)
    rule = PairSTDP(**RULE, pairing="nearest")
    return bs.Network(
        [bs.Population("E", 300, lif), bs.Population("O", 50, lif)],
        [
            bs.Projection(
                "E", "E", bs.FixedProbability(0.05, weight=3.0, seed_stable=True),
                bs.ExponentialSynapse(tau=5.0), bs.COBA(0.0), plasticity=rule,
            ),
            bs.Projection(
                "E", "O", bs.FixedProbability(0.2, weight=2.0),
                bs.ExponentialSynapse(tau=5.0), bs.COBA(0.0), plasticity=PairSTDP(**RULE),
            ),
        ],
        [bs.ConstantCurrent("E", 260.0), bs.ConstantCurrent("O", 180.0)],
        key=jr.key(3),
    )


def _assert_same_plastic_state(a, b):
    for name, proj in a.projections.items():
        if proj.weights is None:
            continue
        other = b.projections[name]
        np.testing.assert_array_equal(np.asarray(proj.weights), np.asarray(other.weights), err_msg=name)
        np.testing.assert_array_equal(np.asarray(proj.plasticity.pre), np.asarray(other.plasticity.pre))
        np.testing.assert_array_equal(np.asarray(proj.plasticity.post), np.asarray(other.plasticity.post))


def _assert_same_run(generic, fused):
    _assert_same_spikes(generic, fused)
    _assert_same_state(generic.final_state, fused.final_state, atol=0)
    _assert_same_plastic_state(generic.final_state, fused.final_state)


@needs_fused
@pytest.mark.parametrize("pairing", ["all", "nearest"])
def test_fused_stdp_equals_generic_bit_for_bit(pairing):
    network = _coba(pairing)
    plan, reason = bs.fused_plan(network)
    assert plan is not None, reason
    assert plan.projection_meta[0].plasticity == {"all": 1, "nearest": 2}[pairing]
    generic = _run(network, 60.0, "generic")
    fused = _run(network, 60.0, "fused")
    _assert_same_run(generic, fused)
    w0 = np.asarray(network.init_state(key=jr.key(0)).projections["E->E"].weights)
    moved = np.asarray(fused.final_state.projections["E->E"].weights) != w0
    assert moved.mean() > 0.05  # the rule did move many synapses in 60 ms
    assert _run(network, 60.0, "auto").final_state.projections["E->E"].weights.shape == w0.shape


@needs_fused
def test_fused_stdp_on_padded_ell_and_an_unread_population():
    network = _ell_network()
    assert isinstance(network.projections[0].connectivity, bs.ops.ELL)
    assert bs.fused_plan(network)[0].history_lengths == (1, 0)  # O keeps no spike history
    generic = _run(network, 50.0, "generic")
    fused = _run(network, 50.0, "fused")
    assert all(int(c.sum()) > 20 for c in fused.spike_counts.values())
    _assert_same_run(generic, fused)


@needs_fused
def test_fused_stdp_chunks_resumes_and_threads(monkeypatch):
    network = _coba()
    whole = _run(network, 30.0, "fused")
    chunked = _run(network, 30.0, "fused", chunk_steps=37)
    _assert_same_run(whole, chunked)
    first = _run(network, 15.0, "fused")
    second = _run(network, 15.0, "generic", initial_state=first.final_state)
    _assert_same_plastic_state(whole.final_state, second.final_state)
    monkeypatch.setattr(bs.fused, "MIN_NEURONS_PER_THREAD", 16)
    monkeypatch.setenv("BRAINSIM_NATIVE_THREADS", "2")
    assert bs.fused_plan(network)[0].threads == 2
    _assert_same_run(whole, _run(network, 30.0, "fused"))


def test_fused_engine_refuses_what_it_does_not_run():
    base = dict(pre="E", post="E", connectivity=bs.FixedProbability(0.3, weight=1.0),
                synapse=bs.ExponentialSynapse(), output=bs.COBA(0.0))
    cases = (
        (dict(plasticity=PairSTDP(bound="soft")), "bound='soft'"),
        (dict(plasticity=TripletSTDP.visual_cortex()), "TripletSTDP"),
        (dict(plastic=True), "without a rule"),
        (dict(plasticity=PairSTDP(), short_term=bs.dynamics.TsodyksMarkram()), "short-term"),
    )
    for extra, reason in cases:
        projection = bs.Projection(**base, **extra)
        network = bs.Network([bs.Population("E", 10, bs.LIF())], [projection], key=jr.key(0))
        plan, why = bs.fused_plan(network)
        assert plan is None and reason in why, why
        with pytest.raises(ValueError, match="fused"):
            _run(network, 1.0, "fused")


@needs_fused
def test_a_sweep_runs_plastic_points_in_parallel_batches_as_single_runs():
    """A sweep batches fused points (one native call, a thread per point); each point's final
    weights equal a single fused run's with the point's key."""
    from brainsim.sweep import point_key, sweep

    def build(w_inh):
        return bs.models.COBANetwork(300, key=jr.key(1), w_inh=w_inh, plasticity={"E->E": PairSTDP(**RULE)})

    key = jr.key(5)
    result = sweep(build, {"w_inh": [40.0, 60.0, 80.0]}, duration=20.0, key=key, keep_results=True,
                   engine="fused", progress=False)
    assert result.compilations == 1
    for k, w_inh in enumerate((40.0, 60.0, 80.0)):
        single = bs.simulate(build(w_inh), 20.0, 0.1, key=point_key(key, k), engine="fused")
        _assert_same_plastic_state(single.final_state, result.results[k].final_state)
