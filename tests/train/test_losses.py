import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from jax.test_util import check_grads

from brainsim.analysis import van_rossum_distance
from brainsim.hardware import core_distance, generic_mesh, synapse_hop_cost
from brainsim.train.losses import (
    activity_regularizer,
    cross_entropy_membrane,
    cross_entropy_spike_counts,
    rate_regularizer,
    synapse_hop_regularizer,
    van_rossum_loss,
)


def _np_cross_entropy(logits, labels):
    logits = np.asarray(logits, np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -np.mean(log_p[np.arange(len(labels)), labels])


SPIKES = jr.bernoulli(jr.key(0), 0.3, (20, 5, 4)).astype(jnp.float32)  # (T, batch, k)
LABELS = jnp.array([0, 3, 1, 2, 3])


def test_cross_entropy_spike_counts_matches_numpy_and_batch_first():
    expected = _np_cross_entropy(np.asarray(SPIKES).sum(axis=0), np.asarray(LABELS))
    assert float(cross_entropy_spike_counts(SPIKES, LABELS)) == pytest.approx(expected, rel=1e-5)
    swapped = jnp.swapaxes(SPIKES, 0, 1)
    assert float(cross_entropy_spike_counts(swapped, LABELS, batch_first=True)) == pytest.approx(
        expected, rel=1e-5
    )


@pytest.mark.parametrize("reduce", ["max", "mean"])
def test_cross_entropy_membrane_matches_numpy(reduce):
    v = jr.normal(jr.key(1), (30, 5, 4))
    pooled = np.asarray(v).max(axis=0) if reduce == "max" else np.asarray(v).mean(axis=0)
    got = float(cross_entropy_membrane(v, LABELS, reduce=reduce))
    assert got == pytest.approx(_np_cross_entropy(pooled, np.asarray(LABELS)), rel=1e-5)


def test_cross_entropy_jit_and_grad_point_to_the_label():
    v = jnp.zeros((10, 2, 3))
    grad = jax.jit(jax.grad(lambda v: cross_entropy_membrane(v, jnp.array([2, 0]), reduce="mean")))(v)
    g = np.asarray(grad).sum(axis=0)
    # descent raises the correct class's potential and lowers the others
    assert g[0, 2] < 0 and g[1, 0] < 0 and np.all(g[0, :2] > 0) and np.all(g[1, 1:] > 0)
    g_spikes = jax.grad(cross_entropy_spike_counts)(SPIKES, LABELS)
    assert np.all(np.isfinite(g_spikes))


def test_cross_entropy_rejects_bad_labels_empty_batches_and_bad_reduce():
    with pytest.raises(ValueError, match=r"`labels` must be in \[0, 4\).*\[4\]"):
        cross_entropy_spike_counts(SPIKES, jnp.array([0, 1, 2, 3, 4]))
    with pytest.raises(ValueError, match=r"`labels` must be in \[0, 4\)"):
        cross_entropy_membrane(SPIKES, jnp.array([0, -1, 2, 3, 1]))
    with pytest.raises(ValueError, match="5 entries for a batch of 3"):
        cross_entropy_spike_counts(SPIKES[:, :3], LABELS)
    with pytest.raises(ValueError, match="empty batch"):
        cross_entropy_spike_counts(jnp.zeros((20, 0, 4)), jnp.zeros(0, jnp.int32))
    with pytest.raises(TypeError, match="labels"):  # the annotation check, or ours without it
        cross_entropy_spike_counts(SPIKES, jnp.zeros(5))
    with pytest.raises((ValueError, TypeError), match="reduce"):  # annotation check or ours
        cross_entropy_membrane(SPIKES, LABELS, reduce="last")
    with pytest.raises((ValueError, TypeError), match="spikes"):
        cross_entropy_spike_counts(SPIKES[0], LABELS)


def test_cross_entropy_checks_traced_labels_at_run_time():
    loss = eqx.filter_jit(cross_entropy_spike_counts)
    assert np.isfinite(float(loss(SPIKES, LABELS)))
    with pytest.raises(eqx.EquinoxRuntimeError, match="labels"):
        loss(SPIKES, jnp.array([0, 1, 2, 3, 7])).block_until_ready()


def test_van_rossum_loss_equals_analysis_distance_squared():
    dt, tau, n_steps = 0.5, 7.0, 120
    rng = np.random.default_rng(3)
    with jax.enable_x64(True):
        a = (rng.random((n_steps, 3, 2)) < 0.05).astype(np.float64)
        b = (rng.random((n_steps, 3, 2)) < 0.05).astype(np.float64)
        a[-1, 0, 0] = 1.0  # a spike on the last step: the tail term matters
        b[:, 1, 1] = 0.0  # a train against the empty train
        expected = []
        for i in range(3):
            for j in range(2):
                ta, tb = np.flatnonzero(a[:, i, j]) * dt, np.flatnonzero(b[:, i, j]) * dt
                expected.append(van_rossum_distance(ta, tb, tau_ms=tau) ** 2)
                single = van_rossum_loss(
                    jnp.asarray(a[:, i : i + 1, j : j + 1]),
                    jnp.asarray(b[:, i : i + 1, j : j + 1]),
                    tau=tau,
                    dt=dt,
                )
                assert float(single) == pytest.approx(expected[-1], rel=1e-10, abs=1e-12)
        got = van_rossum_loss(jnp.asarray(a), jnp.asarray(b), tau=tau, dt=dt)
        assert float(got) == pytest.approx(np.mean(expected), rel=1e-10)


def test_van_rossum_loss_closed_forms_and_gradient():
    tau, dt = 10.0, 1.0
    a = jnp.zeros((200, 1, 1)).at[20, 0, 0].set(1.0)
    b = jnp.zeros((200, 1, 1)).at[35, 0, 0].set(1.0)
    assert float(van_rossum_loss(a, b, tau=tau, dt=dt)) == pytest.approx(1 - np.exp(-15.0 / tau), rel=1e-5)
    assert float(van_rossum_loss(a, jnp.zeros_like(a), tau=tau, dt=dt)) == pytest.approx(0.5, rel=1e-5)
    assert float(van_rossum_loss(a, a, tau=tau, dt=dt)) == 0.0
    with jax.enable_x64(True):
        x = jr.uniform(jr.key(2), (15, 2, 3), jnp.float64)
        y = jr.uniform(jr.key(3), (15, 2, 3), jnp.float64)
        loss = jax.jit(lambda x: van_rossum_loss(x, y, tau=4.0, dt=1.0))
        check_grads(lambda x: loss(jnp.asarray(x)), (x,), order=1, modes=["rev"])
        # under vmap: one loss per stacked raster pair, equal to the separate calls
        stacked = jax.vmap(lambda x, y: van_rossum_loss(x, y, tau=4.0, dt=1.0))(
            jnp.stack([x, y]), jnp.stack([y, y])
        )
        np.testing.assert_allclose(np.asarray(stacked), [float(loss(x)), 0.0], rtol=1e-12)
    # descent on a relaxed raster moves its spike mass toward the target's step
    g = np.asarray(jax.grad(lambda s: van_rossum_loss(s, b, tau=tau, dt=dt))(a))[:, 0, 0]
    assert g[35] < 0 < g[20]


def test_van_rossum_loss_rejects_bad_arguments():
    with pytest.raises(ValueError, match="same shape"):
        van_rossum_loss(jnp.zeros((5, 2, 3)), jnp.zeros((6, 2, 3)), tau=1.0, dt=1.0)
    with pytest.raises(ValueError, match="`tau` must be a Python number > 0 ms"):
        van_rossum_loss(jnp.zeros((5, 2, 3)), jnp.zeros((5, 2, 3)), tau=0.0, dt=1.0)


def test_rate_regularizer_closed_form():
    # 100 steps of 1 ms: 0.1 s; counts 2 and 5 -> 20 Hz and 50 Hz
    spikes = jnp.zeros((100, 1, 2)).at[:2, 0, 0].set(1.0).at[:5, 0, 1].set(1.0)
    assert float(rate_regularizer(spikes, 30.0, dt=1.0)) == pytest.approx((10**2 + 20**2) / 2)
    assert float(rate_regularizer(spikes, jnp.array([20.0, 40.0]), dt=1.0)) == pytest.approx(50.0)
    assert float(rate_regularizer(spikes, 35.0, dt=1.0, per_neuron=False)) == pytest.approx(0.0, abs=1e-4)
    g = jax.grad(lambda s: rate_regularizer(s, 30.0, dt=1.0))(spikes)
    assert np.all(np.asarray(g[:, 0, 0]) < 0) and np.all(np.asarray(g[:, 0, 1]) > 0)  # toward 30 Hz
    with pytest.raises(ValueError, match="`target_hz` must be a scalar"):
        rate_regularizer(spikes, jnp.ones(2), dt=1.0, per_neuron=False)


def test_activity_regularizer_bounds_and_norms():
    counts = np.array([[0.0, 3.0, 8.0]])  # (batch, n)
    spikes = jnp.zeros((10, 1, 3)).at[:3, 0, 1].set(1.0).at[:8, 0, 2].set(1.0)
    assert float(activity_regularizer(spikes, order=1)) == pytest.approx(counts.mean())
    assert float(activity_regularizer(spikes, order=2)) == pytest.approx((counts**2).mean())
    # lower 2, upper 5: neuron 0 is 2 short, neuron 2 is 3 over
    assert float(activity_regularizer(spikes, lower=2.0, upper=5.0)) == pytest.approx((4 + 9) / 3)
    assert float(activity_regularizer(spikes, lower=2.0, upper=None, order=1)) == pytest.approx(2 / 3)
    g = np.asarray(jax.grad(lambda s: activity_regularizer(s, lower=2.0, upper=5.0))(spikes))[0, 0]
    assert g[0] < 0 and g[1] == 0 and g[2] > 0
    with pytest.raises(ValueError, match="`lower` must be <= `upper`"):
        activity_regularizer(spikes, lower=5.0, upper=2.0)
    with pytest.raises((ValueError, TypeError), match="order"):
        activity_regularizer(spikes, order=3)


# four cores on a line: hop distance |a - b|
LINE = jnp.abs(jnp.arange(4.0)[:, None] - jnp.arange(4.0)[None, :])


def test_synapse_hop_regularizer_matches_explicit_sum_and_hardware_cost():
    w = jr.normal(jr.key(4), (3, 5))
    core_pre, core_post = jnp.array([0, 1, 3]), jnp.array([0, 0, 2, 3, 1])
    rates = jnp.array([5.0, 10.0, 2.0])
    w_, r_, cp, cq = (np.asarray(a) for a in (w, rates, core_pre, core_post))
    expected = sum(abs(w_[i, j]) * r_[i] * abs(cp[i] - cq[j]) for i in range(3) for j in range(5))
    got = synapse_hop_regularizer(w, core_pre, core_post, rates, LINE)
    assert float(got) == pytest.approx(expected, rel=1e-5)
    one_hot = jax.nn.one_hot(jnp.concatenate([core_pre, core_post]), 4)
    pre, post = jnp.repeat(jnp.arange(3), 5), 3 + jnp.tile(jnp.arange(5), 3)
    direct = synapse_hop_cost(w.reshape(-1), one_hot, pre, post, jnp.concatenate([rates, jnp.zeros(5)]), LINE)
    assert float(got) == pytest.approx(float(direct), rel=1e-6)


def test_synapse_hop_regularizer_gradient_moves_weights_toward_fewer_hops():
    distance = core_distance(generic_mesh(3, 3))  # 9 cores, XY hops 0..4
    n_cores = distance.shape[0]
    w0 = jnp.abs(jr.normal(jr.key(5), (6, 6))) + 0.5
    core_pre = jnp.arange(6) % n_cores
    core_post = (jnp.arange(6) * 3 + 1) % n_cores
    rates = jnp.full((6,), 10.0)
    hops = np.asarray(distance)[np.asarray(core_pre)][:, np.asarray(core_post)]
    assert hops.min() == 0 and hops.max() > 0  # both local and distant synapses
    cost = lambda w: synapse_hop_regularizer(w, core_pre, core_post, rates, distance)
    g = jax.jit(jax.grad(cost))(w0)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(np.asarray(g), 10.0 * hops, rtol=1e-6)  # sign(w) r d, w > 0
    w1 = w0 - 1e-3 * g
    assert float(cost(w1)) < float(cost(w0))
    shrink = np.asarray(w0 - w1)
    assert np.all(shrink[hops == 0] == 0) and np.all(shrink[hops > 0] > 0)
    assert shrink[hops == hops.max()].min() > shrink[(hops > 0) & (hops < hops.max())].max()


def test_synapse_hop_regularizer_soft_placement_gradient():
    w = jr.normal(jr.key(6), (3, 4))
    rates = jnp.array([1.0, 2.0, 3.0])
    post = jnp.array([0, 1, 2, 3])

    @jax.jit
    def cost(logits):
        return synapse_hop_regularizer(w, jax.nn.softmax(logits, axis=1), post, rates, LINE)

    logits = jnp.zeros((3, 4))
    g = jax.grad(cost)(logits)
    assert np.all(np.isfinite(g)) and float(jnp.abs(g).max()) > 0
    assert float(cost(logits - 0.5 * g)) < float(cost(logits))
    with pytest.raises(ValueError, match=r"`placement_pre` cores must be in \[0, 4\)"):
        synapse_hop_regularizer(w, jnp.array([0, 1, 9]), post, rates, LINE)
    with pytest.raises((ValueError, TypeError), match="rates_pre"):
        synapse_hop_regularizer(w, jnp.array([0, 1, 2]), post, rates[:2], LINE)
