"""Seed-stable capacity (brainsim/connect/_sampling.py, `FixedProbability(seed_stable=True)`,
`FixedInDegree`'s row bound): shapes that do not depend on the key, padding that changes no
result, and an explicit error beyond the capacity."""

import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np
import pytest
import scipy.stats

import brainsim as bs
from brainsim.connect import FixedInDegree, FixedProbability
from brainsim.connect._sampling import ROW_CAPACITY_FAILURE, binomial_row_capacity, csr_to_padded_rows
from brainsim.ops import CSR, ELL, event_matvec, to_coo


@pytest.mark.parametrize("n_rows, n_candidates, p", [(4000, 3200, 0.02), (1000, 800, 0.02), (50, 40, 0.3)])
def test_row_capacity_is_the_smallest_bound_with_the_stated_failure_probability(n_rows, n_candidates, p):
    k = binomial_row_capacity(n_rows, n_candidates, p)
    tail = scipy.stats.binom.sf  # P(X > k), an independent reference
    assert n_rows * tail(k, n_candidates, p) <= ROW_CAPACITY_FAILURE * (1 + 1e-6)
    assert n_rows * tail(k - 1, n_candidates, p) > ROW_CAPACITY_FAILURE


def test_row_capacity_edge_cases():
    assert binomial_row_capacity(10, 10, 0.0) == 0
    assert binomial_row_capacity(10, 7, 1.0) == 7
    assert binomial_row_capacity(10, 7, 0.99) == 7  # never above the candidates


def test_seed_stable_shapes_and_treedefs_do_not_depend_on_the_key():
    rule = FixedProbability(0.05, weight=2.0, seed_stable=True)
    a, b = rule.build(300, 200, key=jr.key(1)), rule.build(300, 200, key=jr.key(2))
    assert isinstance(a, ELL)
    assert jtu.tree_structure(a) == jtu.tree_structure(b)
    assert [x.shape for x in jtu.tree_leaves(a)] == [x.shape for x in jtu.tree_leaves(b)]
    assert a.targets.shape == (300, binomial_row_capacity(300, 200, 0.05))
    assert not np.array_equal(np.asarray(a.targets), np.asarray(b.targets))  # different draws
    # the unpadded CSRs of the same keys differ in size: this is what the padding removes
    plain = FixedProbability(0.05, weight=2.0)
    assert (
        plain.build(300, 200, key=jr.key(1)).indices.shape
        != plain.build(300, 200, key=jr.key(2)).indices.shape
    )


@pytest.mark.parametrize("allow_self", [True, False])
def test_seed_stable_holds_the_synapses_of_the_csr_drawn_with_the_same_key(allow_self):
    kwargs = dict(weight=2.0, allow_self_connections=allow_self)
    padded = FixedProbability(0.1, seed_stable=True, **kwargs).build(120, 120, key=jr.key(3))
    plain = FixedProbability(0.1, **kwargs).build(120, 120, key=jr.key(3))
    for x, y in zip(to_coo(padded), to_coo(plain), strict=True):
        np.testing.assert_array_equal(x, y)
    targets = np.asarray(padded.targets)
    assert np.all(
        (targets == 120) == (np.arange(targets.shape[1]) >= np.diff(np.asarray(plain.indptr))[:, None])
    )


@pytest.mark.parametrize("kernel", ["reference", "native"])
def test_padding_is_inert_in_the_event_operator_and_its_gradients(kernel):
    if kernel == "native" and not bs.ops._native.available():
        pytest.fail("the native kernels are built in this environment; this test checks them")
    padded = FixedProbability(0.1, weight=1.5, seed_stable=True).build(150, 90, key=jr.key(4))
    plain = FixedProbability(0.1, weight=1.5).build(150, 90, key=jr.key(4))
    spikes = (jr.uniform(jr.key(5), (150,)) < 0.3).astype(jnp.float32)
    cotangent = jr.normal(jr.key(6), (90,))

    def loss(conn, w, s):
        conn = bs.ops.scale_weights(conn, w)
        return jnp.sum(event_matvec(conn, s, kernel=kernel) * cotangent)

    out_padded = event_matvec(padded, spikes, kernel=kernel)
    out_plain = event_matvec(plain, spikes, kernel=kernel)
    np.testing.assert_array_equal(np.asarray(out_padded), np.asarray(out_plain))
    g_padded = jax.grad(loss, argnums=(1, 2))(padded, jnp.float32(1.0), spikes)
    g_plain = jax.grad(loss, argnums=(1, 2))(plain, jnp.float32(1.0), spikes)
    for x, y in zip(g_padded, g_plain, strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("engine", ["generic", "fused"])
def test_padding_changes_no_spike_of_a_network(engine):
    def network(seed_stable):
        lif = bs.LIF(c_m=200.0, g_leak=10.0, e_leak=-60.0, v_threshold=-50.0, v_reset=-60.0, t_ref=5.0)
        rule = {
            s: FixedProbability(0.1, weight=w, seed_stable=seed_stable) for s, w in (("E", 6.0), ("I", 67.0))
        }
        outputs = {"E": bs.COBA(e_rev=0.0), "I": bs.COBA(e_rev=-80.0)}
        taus = {"E": 5.0, "I": 10.0}
        pops = [bs.Population("E", 80, lif), bs.Population("I", 20, lif)]
        projs = [
            bs.Projection(s, d, rule[s], bs.ExponentialSynapse(tau=taus[s]), outputs[s])
            for s in ("E", "I")
            for d in ("E", "I")
        ]
        return bs.Network(pops, projs, [bs.ConstantCurrent(p, 200.0) for p in ("E", "I")], key=jr.key(7))

    padded, plain = network(True), network(False)
    assert isinstance(padded.projection("E->E").connectivity, ELL)
    assert isinstance(plain.projection("E->E").connectivity, CSR)
    runs = [bs.simulate(net, 200.0, key=jr.key(8), engine=engine) for net in (padded, plain)]
    assert sum(len(r.spikes["E"].times) for r in runs) > 100  # the network is active
    for pop in ("E", "I"):
        np.testing.assert_array_equal(runs[0].spikes[pop].times, runs[1].spikes[pop].times)
        np.testing.assert_array_equal(runs[0].spikes[pop].indices, runs[1].spikes[pop].indices)


def test_a_row_beyond_the_capacity_is_an_error_naming_it():
    indptr, indices = np.array([0, 2, 7]), np.arange(7, dtype=np.int32) % 5
    with pytest.raises(ValueError, match="row 1 drew 5 synapses, more than the seed-stable capacity of 4"):
        csr_to_padded_rows(indptr, indices, 4, pad=5)
    table = csr_to_padded_rows(indptr, indices, 5, pad=5)
    np.testing.assert_array_equal(table, [[0, 1, 5, 5, 5], [2, 3, 4, 0, 1]])


def test_seed_stable_must_be_a_bool():
    with pytest.raises(TypeError, match="seed_stable"):  # beartype at test time, or __check_init__
        FixedProbability(0.1, weight=1.0, seed_stable="yes")


def test_fixed_in_degree_row_bound_does_not_depend_on_the_key():
    rule = FixedInDegree(20, weight=1.0)
    a, b = rule.build(400, 300, key=jr.key(1)), rule.build(400, 300, key=jr.key(2))
    assert a.max_row_length == b.max_row_length == binomial_row_capacity(400, 300, 20 / 400)
    assert a.max_row_length >= int(np.diff(np.asarray(a.indptr)).max())
    assert jtu.tree_structure(a) == jtu.tree_structure(b)
