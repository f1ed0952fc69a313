"""`brainsim.distributed` in the test process (one CPU device): argument checks, the layout,
the per-device connectivity against a dense reference, the spike packing, the `shard_map`
compatibility import, and a 1-device mesh run against `bs.run`."""

import sys
import types

import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np
import pytest
from jax.sharding import Mesh

import brainsim as bs
from brainsim import distributed
from brainsim.distributed._compat import shard_map_function
from brainsim.distributed.exchange import destination_counts, pack_spikes, unpack_spikes
from brainsim.distributed.layout import activity_rates, contiguous_part, device_layout
from brainsim.distributed.workload import clustered_network
from brainsim.ops import to_dense

KEY = jr.key(5)


def small_network(**projection_options):
    lif = bs.LIF(c_m=200.0, g_leak=10.0, e_leak=-49.0, v_threshold=-50.0, v_reset=-60.0)
    projection = bs.Projection(
        "A",
        "A",
        bs.FixedProbability(0.2, weight=5.0),
        bs.ExponentialSynapse(tau=5.0),
        bs.CUBA(),
        **projection_options,
    )
    return bs.Network([bs.Population("A", 20, lif)], [projection], key=jr.key(0))


# -- argument checks ------------------------------------------------------------------------------


def test_partition_array_of_the_wrong_length_is_rejected():
    with pytest.raises(ValueError, match=r"`partition` must have one device id per neuron, shape \(20,\)"):
        distributed.shard(small_network(), 1, partition=np.zeros(19, int))


def test_partition_ids_outside_the_mesh_are_rejected():
    with pytest.raises(ValueError, match=r"`partition` must hold device ids in \[0, 1\)"):
        distributed.shard(small_network(), 1, partition=np.r_[np.zeros(19, int), 1])
    with pytest.raises(TypeError, match="`partition` must hold integer device ids"):
        distributed.shard(small_network(), 1, partition=np.zeros(20))
    with pytest.raises(ValueError, match="`partition` must be one of"):
        distributed.shard(small_network(), 1, partition="random")


def test_more_devices_than_neurons_or_than_jax_sees_is_rejected():
    with pytest.raises(ValueError, match="`devices`: 21 devices for 20 neurons"):
        distributed.shard(small_network(), 21)
    with pytest.raises(
        ValueError, match=r"`devices` must be in \[1, 1\].*xla_force_host_platform_device_count"
    ):
        distributed.shard(small_network(), 2)
    with pytest.raises(TypeError, match="devices"):  # the annotation (beartype) or the check
        distributed.shard(small_network(), "all")


def test_exchange_interval_longer_than_the_shortest_delay_is_rejected():
    with pytest.raises(ValueError, match=r"`exchange_every` must be in \[1, 2\] steps"):
        distributed.shard(small_network(delay_steps=2), 1, exchange_every=3)
    assert distributed.shard(small_network(delay_steps=2), 1, exchange_every="min_delay").exchange_every == 2


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: small_network(plastic=True), ValueError, "do not support plastic projections; `A->A`"),
        (
            lambda: small_network(delay_steps=bs.ConstantDelay(2), max_delay_steps=20),
            ValueError,
            "projection `A->A` has per-synapse delays",
        ),
        (
            lambda: bs.Network([bs.Population("R", 4, bs.RateUnit())]),
            TypeError,
            "population `R` is a RateUnit",
        ),
        (
            lambda: bs.Network([bs.Population("A", 4, bs.LIF())], inputs=[bs.StreamedCurrent("A", "drive")]),
            TypeError,
            "do not support StreamedCurrent inputs",
        ),
        (
            lambda: bs.Network(
                [bs.Population("A", 8, bs.LIF())],
                [
                    bs.Projection(
                        "A",
                        "A",
                        bs.Procedural(jr.key(1), 8, 8, degree=2, weight=1.0, weight_std=0.1),
                        bs.ExponentialSynapse(tau=5.0),
                        bs.CUBA(),
                    )
                ],
            ),
            TypeError,
            "`Procedural` connectivity with homogeneous weights only",
        ),
        (
            lambda: bs.Network([bs.Population("A", 4, bs.LIF(), every=3)]),
            ValueError,
            "slow clocks; population `A` steps every 3 steps",
        ),
        (
            lambda: bs.Network(
                [bs.Population("A", 4, bs.LIF())],
                [
                    bs.Projection(
                        "A",
                        "A",
                        bs.OneToOne(1.0),
                        bs.ExponentialSynapse(),
                        bs.CUBA(),
                        short_term=bs.TsodyksMarkram(),
                    )
                ],
            ),
            ValueError,
            "do not support `short_term`",
        ),
        (
            lambda: bs.Network(
                [bs.Population("A", 4, bs.LIF()), bs.Population("M", 1, bs.LIF())],
                [bs.Projection("A", "A", bs.OneToOne(1.0), bs.ExponentialSynapse(), bs.CUBA())],
                modulations=[bs.ScaleRelease("M", "A->A")],
            ),
            ValueError,
            "do not support modulations",
        ),
    ],
)
def test_unsupported_components_fail_closed(build, error, message):
    network = build()
    with pytest.raises(error, match=message):
        distributed.shard(network, 1, partition="contiguous")


def test_run_sharded_needs_a_sharded_network():
    with pytest.raises(TypeError, match="sharded"):  # the annotation (beartype) or the check
        distributed.run_sharded(small_network(), 1.0, 0.1, key=KEY)


# -- layout and per-device connectivity -----------------------------------------------------------


def test_contiguous_partition_is_balanced_per_population():
    part = contiguous_part({"E": 10, "I": 3}, 4)
    assert part[:10].tolist() == [0, 0, 0, 1, 1, 2, 2, 2, 3, 3]
    assert part[10:].tolist() == [0, 1, 2]
    layout = device_layout({"E": 10, "I": 3}, part, 4)
    assert layout.local_size("E") == 3 and layout.local_size("I") == 1
    assert layout.slots["I"].tolist() == [[0], [1], [2], [-1]]


def test_slots_and_positions_are_inverse():
    rng = np.random.default_rng(0)
    sizes = {"E": 37, "I": 11}
    layout = device_layout(sizes, rng.integers(0, 3, 48), 3)
    for name, n in sizes.items():
        flat = layout.slots[name].reshape(-1)
        assert np.array_equal(flat[layout.positions[name]], np.arange(n))
        assert np.sum(flat >= 0) == n
        for row in layout.slots[name]:  # each device's neurons in increasing order
            real = row[row >= 0]
            assert np.all(np.diff(real) > 0)


def _formats():
    rng = np.random.default_rng(2)
    n_pre, n_post = 9, 13
    dense = np.where(rng.random((n_pre, n_post)) < 0.3, rng.uniform(0.5, 2.0, (n_pre, n_post)), 0.0)
    pre, post = np.nonzero(dense)
    indptr = np.r_[0, np.cumsum(np.bincount(pre, minlength=n_pre))].astype(np.int32)
    targets = np.full((n_pre, 6), n_post, np.int32)
    for i in range(n_pre):
        row = post[pre == i][:6]
        targets[i, : row.size] = row
    return [
        bs.CSR(indptr, post.astype(np.int32), jnp.asarray(dense[pre, post], jnp.float32), n_post),
        bs.CSR(indptr, post.astype(np.int32), 2.0, n_post),
        bs.ELL(targets, 1.5, n_post),
        bs.Dense(jnp.asarray(dense, jnp.float32)),
        bs.Procedural(jr.key(3), n_pre, n_post, degree=4, weight=0.7),
    ]


@pytest.mark.parametrize("conn", _formats(), ids=lambda c: type(c).__name__)
def test_post_columns_hold_each_devices_columns_of_the_dense_matrix(conn):
    layout = device_layout({"post": conn.n_post}, np.random.default_rng(4).integers(0, 3, conn.n_post), 3)
    slots = layout.slots["post"]
    local = distributed.post_columns(conn, slots)
    reference = np.asarray(to_dense(conn))
    for d, part in enumerate(local):
        expected = np.where(slots[d] >= 0, reference[:, np.maximum(slots[d], 0)], 0.0)
        assert part.n_pre == conn.n_pre and part.n_post == slots.shape[1]
        np.testing.assert_array_equal(np.asarray(to_dense(part)), expected)
    assert len({jtu.tree_structure(p) for p in local}) == 1  # stackable


def test_packed_spikes_unpack_to_global_order():
    rng = np.random.default_rng(5)
    sizes = {"E": 21, "I": 6}
    layout = device_layout(sizes, rng.integers(0, 3, 27), 3)
    spikes = {name: rng.random((4, n)) < 0.3 for name, n in sizes.items()}  # (steps, n)
    widths = {name: layout.local_size(name) for name in sizes}
    buffers = []
    for d in range(3):
        local = {
            name: np.where(
                layout.slots[name][d] >= 0, spikes[name][:, np.maximum(layout.slots[name][d], 0)], False
            )
            for name in sizes
        }
        buffers.append(pack_spikes({k: jnp.asarray(v) for k, v in local.items()}))
    assert buffers[0].dtype == jnp.uint8 and buffers[0].shape == (4, sum(-(-m // 8) for m in widths.values()))
    unpacked = unpack_spikes(jnp.stack(buffers), widths, layout.positions)
    for name in sizes:
        np.testing.assert_array_equal(np.asarray(unpacked[name]), spikes[name])


def test_destinations_count_other_devices_with_a_target():
    part = np.array([0, 0, 1, 2])
    pre = np.array([0, 0, 0, 1, 2, 3])
    post = np.array([1, 2, 3, 2, 0, 3])  # 0 -> devices 0, 1, 2; 1 -> 1; 2 -> 0; 3 -> own
    assert destination_counts(pre, post, part, 3).tolist() == [2, 1, 1, 0]


def test_activity_from_a_run_is_rates_in_hz():
    network = small_network()
    result = bs.run(network, 10.0, 0.1, key=KEY)
    rates = activity_rates(network, result)
    np.testing.assert_allclose(rates, np.asarray(result.outputs["A"]).sum(axis=0) / 0.01)
    with pytest.raises(ValueError, match=r"per-neuron rates of shape \(20,\)"):
        activity_rates(network, np.ones(3))


def test_clustered_network_keeps_most_synapses_inside_communities():
    network, community = clustered_network(200, 4, outside_fraction=0.1, seed=3)
    pre, post, _, _ = network.synapse_graph().global_edges()
    inside = np.mean(community[pre] == community[post])
    assert 0.85 < inside < 0.95
    assert np.mean(community[:-1] == community[1:]) < 0.5  # neighbouring ids: mixed communities


# -- the shard_map import across JAX versions -----------------------------------------------------


def test_shard_map_uses_jax_shard_map_when_present():
    calls = []
    fake = types.SimpleNamespace(shard_map=lambda f, **kw: calls.append(kw) or f, __name__="fakejax")
    shard_map_function(fake)(abs, mesh="m", in_specs="i", out_specs="o")
    assert calls == [{"mesh": "m", "in_specs": "i", "out_specs": "o", "check_vma": False}]


def test_shard_map_falls_back_to_the_experimental_module(monkeypatch):
    calls = []
    legacy = types.ModuleType("oldjax.experimental.shard_map")
    legacy.shard_map = lambda f, **kw: calls.append(kw) or f
    monkeypatch.setitem(sys.modules, "oldjax", types.ModuleType("oldjax"))
    monkeypatch.setitem(sys.modules, "oldjax.experimental", types.ModuleType("oldjax.experimental"))
    monkeypatch.setitem(sys.modules, "oldjax.experimental.shard_map", legacy)
    fake = types.ModuleType("oldjax")
    shard_map_function(fake)(abs, mesh="m", in_specs="i", out_specs="o")
    assert calls == [{"mesh": "m", "in_specs": "i", "out_specs": "o", "check_rep": False}]


# -- a 1-device mesh ------------------------------------------------------------------------------


def test_one_device_mesh_run_and_resume_equal_run():
    network, _ = clustered_network(60, 2, delay_steps=2)
    mesh = Mesh(np.asarray(jax.devices()[:1]), ("cells",))
    sharded = distributed.shard(network, mesh, partition="metis", exchange_every="min_delay")
    assert sharded.axis == "cells" and sharded.n_devices == 1
    reference = bs.run(network, 10.0, 0.1, key=KEY)
    first = distributed.run_sharded(sharded, 5.0, 0.1, key=KEY)
    # resumed from the first half's state (step 50: the step keys continue), recording E only
    second = distributed.run_sharded(
        sharded, 5.0, 0.1, key=KEY, initial_state=first.final_state, record=("E",)
    )
    assert set(second.outputs) == {"E"} and set(second.spike_counts) == {"E", "I"}
    assert int(np.sum(reference.outputs["E"][50:])) > 0
    joined = np.concatenate([np.asarray(first.outputs["E"]), np.asarray(second.outputs["E"])])
    assert np.array_equal(joined, np.asarray(reference.outputs["E"]))
    assert np.array_equal(np.asarray(first.outputs["I"]), np.asarray(reference.outputs["I"][:50]))
    for name, counts in reference.spike_counts.items():
        joined = np.concatenate([np.asarray(first.spike_counts[name]), np.asarray(second.spike_counts[name])])
        assert np.array_equal(joined, np.asarray(counts))
    for a, b in zip(jtu.tree_leaves(second.final_state), jtu.tree_leaves(reference.final_state), strict=True):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    report = sharded.communication_report(reference.outputs)
    assert report.all_gather_bytes_per_step == 0.0 and report.cut_synapse_fraction == 0.0
