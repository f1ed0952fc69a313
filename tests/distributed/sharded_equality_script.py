"""Run on forced host devices (XLA_FLAGS=--xla_force_host_platform_device_count=N, set by the
caller before JAX starts): single-device `bs.run` against `run_sharded` on all N devices for
several networks and partitions; prints one JSON object (a list of cases) on stdout.

Usage: python sharded_equality_script.py four|eight   (which set of networks)
"""

import json
import sys

import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np

import brainsim as bs
from brainsim import distributed
from brainsim.distributed.workload import clustered_network

jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")

DURATION, DT = 20.0, 0.1
KEY = jax.random.key(7)


def inputs_network():
    """Per-neuron parameters, three kinds of input, a tiny event buffer (overflow: exact path)."""
    rng = np.random.default_rng(0)
    n = 90
    lif = bs.LIF(
        c_m=200.0,
        g_leak=10.0,
        e_leak=-60.0,
        v_reset=-60.0,
        t_ref=2.0,
        v_threshold=jnp.asarray(rng.uniform(-52.0, -48.0, n), jnp.float32),
    )
    pre = rng.integers(0, n, 900)
    post = rng.integers(0, n, 900)
    order = np.lexsort((post, pre))
    indptr = np.r_[0, np.cumsum(np.bincount(pre, minlength=n))].astype(np.int32)
    conn = bs.CSR(
        indptr,
        post[order].astype(np.int32),
        jnp.asarray(rng.uniform(0.5, 2.0, 900), jnp.float32),
        n,
        max_active=3,
    )
    projection = bs.Projection(
        "A", "A", conn, bs.ExponentialSynapse(tau=5.0), bs.COBA(e_rev=0.0), delay_steps=2
    )
    times = rng.uniform(0.0, DURATION, 200)
    inputs = [
        bs.ConstantCurrent("A", jnp.asarray(rng.uniform(150.0, 260.0, n), jnp.float32)),
        bs.CurrentFunction("A", lambda t: 20.0 * jnp.sin(t / 3.0)),
        bs.SpikeTimes(
            "A", times, rng.integers(0, n, 200), 3.0, bs.ExponentialSynapse(tau=2.0), bs.COBA(e_rev=0.0)
        ),
    ]
    return bs.Network([bs.Population("A", n, lif)], [projection], inputs)


def cases(which: str):
    """`(name, network, partitions, shard options)` of set `which` ("four" or "eight")."""
    n_dev = jax.device_count()
    if which == "four":
        clustered, community = clustered_network(160, 4, outside_fraction=0.01, connectivity="ell")
        procedural = bs.models.COBANetwork(160, key=jax.random.key(3), in_degree=20, procedural=True)
        return [
            ("clustered_ell_poisson", clustered, ["contiguous", "metis"], {}),
            ("inputs_overflow", inputs_network(), ["metis"], {"exchange_every": "min_delay"}),
            ("coba_procedural", procedural, [np.random.default_rng(1).integers(0, n_dev, 160)], {}),
        ]
    return [
        ("coba_csr", bs.models.COBANetwork(160, key=jax.random.key(1), p=0.1), ["metis"], {}),
        ("clustered_dense", clustered_network(120, 2, connectivity="dense")[0], ["contiguous"], {}),
        (
            "clustered_delay3",
            clustered_network(120, 4, delay_steps=3)[0],
            ["metis"],
            {"exchange_every": "min_delay"},
        ),
    ]


def trees_equal(a, b) -> bool:
    la, lb = jtu.tree_leaves(a), jtu.tree_leaves(b)
    return len(la) == len(lb) and all(bool(jnp.array_equal(x, y)) for x, y in zip(la, lb, strict=True))


def main():
    which = sys.argv[1] if len(sys.argv) > 1 else "four"
    results = []
    for name, network, partitions, options in cases(which):
        reference = bs.run(network, DURATION, DT, key=KEY)
        for partition in partitions:
            # METIS weighted by the reference run's activity (the mapper's input)
            activity = reference if isinstance(partition, str) and partition == "metis" else None
            sharded = distributed.shard(
                network, jax.device_count(), partition=partition, activity=activity, **options
            )
            result = distributed.run_sharded(sharded, DURATION, DT, key=KEY)
            report = sharded.communication_report(result.outputs)
            results.append(
                {
                    "case": name,
                    "partition": sharded.partition,
                    "devices": sharded.n_devices,
                    "device_count": jax.device_count(),
                    "exchange_every": sharded.exchange_every,
                    "spikes": {k: int(np.sum(v)) for k, v in reference.outputs.items()},
                    "spikes_equal": trees_equal(result.outputs, reference.outputs),
                    "counts_equal": trees_equal(result.spike_counts, reference.spike_counts),
                    "state_equal": trees_equal(result.final_state, reference.final_state),
                    "overflow": {k: int(v) for k, v in reference.overflow_steps.items()},
                    "overflow_equal": trees_equal(result.overflow_steps, reference.overflow_steps),
                    "packed_bytes_per_exchange": sharded.packed_bytes_per_exchange,
                    "report": report.as_dict(),
                }
            )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
