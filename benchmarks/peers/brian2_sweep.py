"""A parameter sweep of the COBA benchmark in Brian2 C++ standalone, done the expert way: the
project is generated and compiled once, then every point is one run of the same binary with
`device.run(run_args=...)` (Brian2 >= 2.6) setting the inhibitory weight. One JSON line.

    .venv-brian2/bin/python brian2_sweep.py --n 4000 --duration 1.0 --points 100 \
        [--w-min 3] [--w-max 10] [--threads 1] [--seed 0]

Runs in benchmarks/peers/.venv-brian2, never in brainsim's venv. The network is
`brian2_coba.build_network`'s COBA with the inhibitory synapses' weight a shared variable
`w` (nS), so the compiled code reads it at run time.

Timings (seconds of wall clock):
  build_s       network declaration, code generation and compilation (`device.build`), once
  point_s       per point: `device.run(run_args=...)` (binary start, synapse creation, the
                run, writing results), median over points
  run_s         per point: the binary's own measurement of the simulation loop, median
  total_s       build_s plus every point's `device.run`
"""

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--duration", type=float, default=1.0, help="biological seconds")
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--w-min", type=float, default=3.0, help="nS")
    parser.add_argument("--w-max", type=float, default=10.0, help="nS")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import brian2
    from brian2 import (
        NeuronGroup,
        SpikeMonitor,
        Synapses,
        device,
        float32,
        ms,
        mV,
        nS,
        pA,
        pF,
        prefs,
        run,
        second,
        seed,
        set_device,
    )

    workdir = tempfile.mkdtemp(prefix="brian2_sweep_")
    try:
        start = time.perf_counter()
        set_device("cpp_standalone", directory=workdir, build_on_run=False)
        prefs.core.default_float_dtype = float32
        prefs.devices.cpp_standalone.openmp_threads = args.threads if args.threads > 1 else 0
        brian2.defaultclock.dt = 0.1 * ms
        seed(args.seed)
        n, n_exc = args.n, round(0.8 * args.n)
        C, gl, El, Vt, Vr = 200 * pF, 10 * nS, -60 * mV, -50 * mV, -60 * mV
        Ee, Ei, taue, taui = 0 * mV, -80 * mV, 5 * ms, 10 * ms
        we, Ib = 6 * nS, 200 * pA
        eqs = """
        dv/dt = (gl*(El - v) + ge*(Ee - v) + gi*(Ei - v) + Ib) / C : volt (unless refractory)
        dge/dt = -ge / taue : siemens
        dgi/dt = -gi / taui : siemens
        """
        P = NeuronGroup(
            n, eqs, threshold="v > Vt", reset="v = Vr", refractory=5 * ms, method="exponential_euler"
        )
        P.v = "Vr + rand() * (Vt - Vr)"
        Ce = Synapses(P[:n_exc], P, on_pre="ge += we")
        Ci = Synapses(P[n_exc:], P, "w : siemens (shared, constant)", on_pre="gi += w")
        Ce.connect(p=0.02)
        Ci.connect(p=0.02)
        Ci.w = 67 * nS  # replaced by every point's run_args
        monitor = SpikeMonitor(P, record=False)
        namespace = dict(C=C, gl=gl, El=El, Vt=Vt, Vr=Vr, Ee=Ee, Ei=Ei, taue=taue, taui=taui, we=we, Ib=Ib)
        run(args.duration * second, namespace=namespace)
        device.build(directory=workdir, compile=True, run=False, with_output=False)
        build_s = time.perf_counter() - start

        step = (args.w_max - args.w_min) / max(args.points - 1, 1)
        weights = [args.w_min + k * step for k in range(args.points)]
        point_s, run_s, rates = [], [], []
        for w in weights:
            start = time.perf_counter()
            device.run(directory=workdir, with_output=False, run_args={Ci.w: w * nS})
            point_s.append(time.perf_counter() - start)
            run_s.append(float(device._last_run_time))
            rates.append(int(monitor.num_spikes) / (n * args.duration))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        json.dumps(
            {
                "simulator": "brian2",
                "brian2": brian2.__version__,
                "mode": "cpp_standalone",
                "python": sys.version.split()[0],
                "n": n,
                "duration": args.duration,
                "points": args.points,
                "threads": args.threads,
                "build_s": round(build_s, 4),
                "point_s": round(statistics.median(point_s), 4),
                "run_s": round(statistics.median(run_s), 4),
                "total_s": round(build_s + sum(point_s), 4),
                "rate_hz_first_last": [round(rates[0], 3), round(rates[-1], 3)],
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
