"""Multi-device benchmark: weak scaling of `brainsim.distributed.run_sharded`, one JSON line per
(devices, partition).

    python benchmarks/distributed.py                         # 1, 2, 4 forced CPU devices
    python benchmarks/distributed.py --per-device 2000 --duration 200
    python benchmarks/distributed.py --quick                 # small sizes (smoke test)
    python benchmarks/distributed.py --platform gpu --devices 1 2 4 8   # real accelerators

Weak scaling: `--per-device` neurons per device, so `D` devices simulate `D x per-device`
neurons of `brainsim.distributed.workload.clustered_network` (E/I LIF, CUBA weights, Poisson
drive) with `max(4, D)` communities scattered over the ids, which a contiguous split cuts and
METIS keeps together. Each configuration runs in its own process: on CPU the process forces
`D` host devices (`XLA_FLAGS=--xla_force_host_platform_device_count=D`, set before JAX
starts), so on a 2-core machine this measures correctness and communication volume, not
speed-up. Each line: devices, partition, neurons, synapses, steps, build_s (partition and
per-device pieces), compile_s (first call minus second), run_s (second call), reference_s
(single-device `bs.run` under `jax.jit`, second call), peak_rss_mb (the process's), exchanged bytes per step
(the implemented all-gather, the full all-gather without the boundary filter, and compact
index lists), cut synapse fraction, padding fraction, spikes, spikes_equal (to the
single-device run with the same key), jax and brainsim versions, device kind.
"""

import argparse
import functools
import json
import os
import subprocess
import sys


def child(args) -> None:
    """One configuration set in this process (the device count is already forced)."""
    import importlib.metadata
    import platform
    import resource
    import time

    import jax
    import numpy as np

    import brainsim as bs
    from brainsim import distributed
    from brainsim.distributed.workload import clustered_network

    n_devices = args.devices[0]
    if jax.device_count() < n_devices:
        raise SystemExit(f"{n_devices} devices asked, JAX sees {jax.device_count()}")
    key = jax.random.key(0)
    n = args.per_device * n_devices
    network, _ = clustered_network(
        n, max(4, n_devices), seed=args.seed, in_degree=args.in_degree, outside_fraction=args.outside
    )

    def timed(f):
        start = time.perf_counter()
        out = f()
        jax.block_until_ready(jax.tree_util.tree_leaves(out))
        return out, time.perf_counter() - start

    reference = bs.run(network, args.duration, args.dt, key=key)  # as users call it: the spikes to match
    jitted = jax.jit(lambda k: bs.run(network, args.duration, args.dt, key=k).spike_counts)
    timed(lambda: jitted(key))
    _, reference_s = timed(lambda: jitted(key))  # compiled: run time only
    for partition in args.partitions:
        start = time.perf_counter()
        sharded = distributed.shard(network, n_devices, partition=partition, activity=reference)
        build_s = time.perf_counter() - start
        run = functools.partial(distributed.run_sharded, sharded, args.duration, args.dt, key=key)
        _, first_s = timed(run)
        result, run_s = timed(run)
        report = sharded.communication_report(result.outputs)
        equal = all(
            np.array_equal(np.asarray(result.outputs[k]), np.asarray(reference.outputs[k]))
            for k in reference.outputs
        )
        row = {
            "benchmark": "distributed_weak_scaling",
            "devices": n_devices,
            "partition": partition,
            "per_device": args.per_device,
            "neurons": n,
            "synapses": network.synapse_graph().n_synapses,
            "steps": result.n_steps,
            "dt_ms": args.dt,
            "exchange_every": sharded.exchange_every,
            "build_s": round(build_s, 3),
            "compile_s": round(max(first_s - run_s, 0.0), 3),
            "run_s": round(run_s, 3),
            "reference_s": round(reference_s, 3),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "all_gather_bytes_per_step": report.all_gather_bytes_per_step,
            "full_gather_bytes_per_step": report.full_gather_bytes_per_step,
            "index_list_bytes_per_step": round(report.index_list_bytes_per_step, 2),
            "cross_device_spikes_per_step": round(report.cross_device_spikes_per_step, 3),
            "cut_synapse_fraction": round(report.cut_synapse_fraction, 4),
            "padding_fraction": round(report.padding_fraction, 4),
            "spikes": int(sum(np.sum(np.asarray(x)) for x in result.outputs.values())),
            "spikes_equal": bool(equal),
            "jax": jax.__version__,
            "brainsim": importlib.metadata.version("brainsim"),
            "python": platform.python_version(),
            "device_kind": jax.devices()[0].device_kind,
            "platform": jax.default_backend(),
        }
        print(json.dumps(row), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--partitions", nargs="+", default=["contiguous", "metis"])
    parser.add_argument("--per-device", type=int, default=1000, help="neurons per device")
    parser.add_argument("--duration", type=float, default=100.0, help="ms")
    parser.add_argument("--dt", type=float, default=0.1, help="ms")
    parser.add_argument("--in-degree", type=int, default=40)
    parser.add_argument(
        "--outside", type=float, default=0.01, help="fraction of inputs from other communities"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--platform", choices=["cpu", "gpu"], default="cpu")
    parser.add_argument("--quick", action="store_true", help="200 neurons per device, 20 ms")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.per_device, args.duration = 200, 20.0
    if args.child:
        child(args)
        return
    for n_devices in args.devices:  # one process per device count: the count is fixed at start-up
        env = dict(os.environ)
        if args.platform == "cpu":
            env["JAX_PLATFORMS"] = "cpu"
            env["XLA_FLAGS"] = (
                f"{env.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={n_devices}".strip()
            )
        command = [
            sys.executable,
            __file__,
            "--child",
            "--devices",
            str(n_devices),
            "--partitions",
            *args.partitions,
            "--per-device",
            str(args.per_device),
            "--duration",
            str(args.duration),
            "--dt",
            str(args.dt),
            "--in-degree",
            str(args.in_degree),
            "--outside",
            str(args.outside),
            "--seed",
            str(args.seed),
        ]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            print(
                json.dumps({"devices": n_devices, "error": done.stderr.strip().splitlines()[-1:]}), flush=True
            )
            continue
        sys.stdout.write(done.stdout)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
