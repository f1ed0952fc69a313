"""COBA with pair STDP on the E->E synapses in Brian2 C++ standalone mode: one JSON line.

    .venv-brian2/bin/python brian2_stdp.py --n N --duration S [--in-degree K] [--threads T] \
        [--repeats R] [--a-plus 0.3] [--a-minus 0.315] [--tau-plus 20] [--tau-minus 20] [--w-max 12]

Runs in benchmarks/peers/.venv-brian2 (Brian2 2.11, Python >= 3.13), never in brainsim's venv.
The companion of `benchmarks/stdp.py`, which runs it as a subprocess.

The network is `brian2_coba.py`'s COBA (same neurons, weights, drive, connectivity statistics,
float32, dt = 0.1 ms, exponential Euler), with the E synapses split into E->E (plastic, one
weight `w` per synapse, starting at w_e = 6 nS) and E->I (static). The STDP rule is Brian2's
standard event-driven pair rule (traces `apre`, `apost` as `(event-driven)` equations, hard
bounds, all-to-all pairing), arranged to reproduce brainsim's `PairSTDP` and step order
exactly (`brainsim/network/step.py`, `brainsim/network/plasticity.py`):

- brainsim delivers a spike emitted at step n - 1 at step n, before the neurons advance, so it
  acts on v in step n: the `pre` pathway `ge += w` without delay, as `brian2_coba.py` (Brian2
  runs synapses after the state update, so a spike at step n - 1 acts on v from step n too).
- brainsim's plasticity sees that spike when it *arrives* (step n), after the delivery: a
  second presynaptic pathway `stdp` with a delay of one step (0.1 ms).
- Within a step brainsim applies the arrivals (`w -= A- * apost`, then `apre += 1`), then the
  postsynaptic spikes of the step (`w += A+ * apre`, then `apost += 1`), and the weight it
  delivers at step n + 1 is the one after step n's plasticity. So the pathways run in the order
  `stdp` (order -2), `post` (order 1), `pre` (order 2) within Brian2's `synapses` slot.

Timings as `brian2_coba.py`: build_s (declaring the objects in Python), compile_s (code
generation + `make`), run_s (the binary's own timing of `network.run`, median over `--repeats`
runs of the compiled binary, all in `run_s_all`), binary_s (the whole binary, synapse creation
included); peak_rss_mb is the binary's (no Python peak: run from `stdp.py`, this process would
report its parent's resident set, which Linux carries over through fork and exec). Also reports
the final E->E weights (`w_mean_ns`, `w_std_ns`, quartiles, fractions at the bounds) and the
rates.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

_LAUNCHER = (
    "import os, subprocess, sys\n"
    "p = subprocess.Popen(sys.argv[2:])\n"
    "_, status, ru = os.wait4(p.pid, 0)\n"
    "open(sys.argv[1], 'w').write(str(ru.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def build_network(n, in_degree, seed, a_plus, a_minus, tau_plus, tau_minus, w_min, w_max):
    """Declares the network (Brian2 names imported inside, after the device is set)."""
    from brian2 import NeuronGroup, SpikeMonitor, Synapses, ms, mV, nS, pA, pF, seed as brian_seed

    brian_seed(seed)
    n_exc = round(0.8 * n)
    n_inh = n - n_exc

    # Parameters (as brian2_coba.py's coba)
    C, gl, El, Vt, Vr = 200 * pF, 10 * nS, -60 * mV, -50 * mV, -60 * mV
    Ee, Ei, taue, taui = 0 * mV, -80 * mV, 5 * ms, 10 * ms
    we, wi, Ib = 6 * nS, 67 * nS, 200 * pA
    # STDP
    taupre, taupost = tau_plus * ms, tau_minus * ms
    Aplus, Aminus = a_plus * nS, a_minus * nS
    wmin, wmax = w_min * nS, w_max * nS
    eqs = """
    dv/dt = (gl*(El - v) + ge*(Ee - v) + gi*(Ei - v) + Ib) / C : volt (unless refractory)
    dge/dt = -ge / taue : siemens
    dgi/dt = -gi / taui : siemens
    """
    P = NeuronGroup(n, eqs, threshold="v > Vt", reset="v = Vr", refractory=5 * ms, method="exponential_euler")
    P.v = "Vr + rand() * (Vt - Vr)"
    P.ge = 0 * nS
    P.gi = 0 * nS
    Pe, Pi = P[:n_exc], P[n_exc:]

    plastic = """
    w : siemens
    dapre/dt = -apre / taupre : 1 (event-driven)
    dapost/dt = -apost / taupost : 1 (event-driven)
    """
    Cee = Synapses(
        Pe,
        Pe,
        plastic,
        on_pre={
            "pre": "ge_post += w",
            "stdp": "w = clip(w - Aminus * apost, wmin, wmax)\napre += 1",
        },
        on_post="w = clip(w + Aplus * apre, wmin, wmax)\napost += 1",
        delay={"stdp": 0.1 * ms},
    )
    # brainsim's order within a step: arrivals, postsynaptic spikes, then (next step) delivery.
    Cee.stdp.order = -2
    Cee.post.order = 1
    Cee.pre.order = 2
    Cei = Synapses(Pe, Pi, on_pre="ge += we")
    Ci = Synapses(Pi, P, on_pre="gi += wi")
    if in_degree is None:
        for S in (Cee, Cei, Ci):
            S.connect(p=0.02)
    else:
        # Fixed in-degree split 80/20 as brainsim's FixedInDegree (and brian2_coba.py).
        k_exc = min(round(0.8 * in_degree), n_exc)
        k_inh = min(in_degree - round(0.8 * in_degree), n_inh)
        Cee.connect(i=f"k for k in sample(N_pre, size={k_exc})")
        Cei.connect(i=f"k for k in sample(N_pre, size={k_exc})")
        Ci.connect(i=f"k for k in sample(N_pre, size={k_inh})")
    Cee.w = "we"
    monitor = SpikeMonitor(P, record=False)
    namespace = {k: v for k, v in locals().items() if not k.startswith("_")}
    return P, (Cee, Cei, Ci), monitor, namespace


def run(args):
    import brian2
    from brian2 import device, float32, nS, prefs, run as brian_run, second, set_device

    workdir = tempfile.mkdtemp(prefix=f"brian2_stdp_{args.n}_")
    rss_file = os.path.join(workdir, "binary_maxrss_kb")
    try:
        set_device("cpp_standalone", directory=workdir, build_on_run=False)
        prefs.core.default_float_dtype = float32
        prefs.devices.cpp_standalone.openmp_threads = args.threads if args.threads > 1 else 0
        prefs.devices.cpp_standalone.run_cmd_unix = [
            sys.executable,
            "-c",
            _LAUNCHER,
            rss_file,
            "./main",
        ]
        brian2.defaultclock.dt = 0.1 * brian2.ms

        start = time.perf_counter()
        # Brian2's `run` collects the objects named in this frame: keep each in a variable.
        P, (Cee, Cei, Ci), monitor, namespace = build_network(
            args.n,
            args.in_degree,
            args.seed,
            args.a_plus,
            args.a_minus,
            args.tau_plus,
            args.tau_minus,
            args.w_min,
            args.w_max,
        )
        build_s = time.perf_counter() - start

        start = time.perf_counter()
        brian_run(args.duration * second, namespace=namespace)
        device.build(directory=workdir, compile=True, run=False, with_output=False)
        compile_s = time.perf_counter() - start

        runs, binaries = [], []
        for _ in range(args.repeats):  # the same binary again: same network, same seed
            start = time.perf_counter()
            device.run(directory=workdir, with_output=False)
            binaries.append(time.perf_counter() - start)
            runs.append(float(device._last_run_time))
        run_s, binary_s = statistics.median(runs), statistics.median(binaries)

        w = np.asarray(Cee.w[:] / nS, dtype=np.float64)
        counts = np.asarray(monitor.count[:])
        n_exc = round(0.8 * args.n)
        with open(rss_file) as f:
            binary_rss_mb = int(f.read()) / 1024
        q = np.percentile(w, [25, 50, 75]) if w.size else [float("nan")] * 3
        result = {
            "model": "coba+stdp",
            "n": args.n,
            "in_degree": args.in_degree,
            "synapses": int(len(Cee) + len(Cei) + len(Ci)),
            "plastic_synapses": int(w.size),
            "duration": args.duration,
            "dt": 0.1,
            "stdp": {
                "a_plus": args.a_plus,
                "a_minus": args.a_minus,
                "tau_plus": args.tau_plus,
                "tau_minus": args.tau_minus,
                "w_min": args.w_min,
                "w_max": args.w_max,
            },
            "build_s": round(build_s, 4),
            "compile_s": round(compile_s, 4),
            "run_s": round(run_s, 4),
            "run_s_all": [round(r, 4) for r in runs],
            "binary_s": round(binary_s, 4),
            "spikes": int(counts.sum()),
            "rate_hz": round(float(counts.sum()) / (args.n * args.duration), 3),
            "rate_e_hz": round(float(counts[:n_exc].sum()) / (n_exc * args.duration), 3),
            "rate_i_hz": round(float(counts[n_exc:].sum()) / ((args.n - n_exc) * args.duration), 3),
            "w_mean_ns": round(float(w.mean()), 5),
            "w_std_ns": round(float(w.std()), 5),
            "w_q25_q50_q75_ns": [round(float(x), 4) for x in q],
            "w_at_min": round(float(np.mean(w <= args.w_min)), 5),
            "w_at_max": round(float(np.mean(w >= args.w_max)), 5),
            "peak_rss_mb": round(binary_rss_mb, 1),
            "simulator": "brian2",
            "brian2": brian2.__version__,
            "mode": "cpp_standalone",
            "float": "float32",
            "threads": args.threads,
        }
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return result


def parser():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=4000)
    p.add_argument("--duration", type=float, default=1.0, help="biological seconds")
    p.add_argument("--in-degree", type=int, default=None)
    p.add_argument("--threads", type=int, default=1, help="OpenMP threads (1: none)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=1, help="runs of the compiled binary")
    p.add_argument("--a-plus", type=float, default=0.3, help="nS")
    p.add_argument("--a-minus", type=float, default=0.315, help="nS")
    p.add_argument("--tau-plus", type=float, default=20.0, help="ms")
    p.add_argument("--tau-minus", type=float, default=20.0, help="ms")
    p.add_argument("--w-min", type=float, default=0.0, help="nS")
    p.add_argument("--w-max", type=float, default=12.0, help="nS")
    p.add_argument("--keep", action="store_true", help="keep the generated project")
    return p


def main():
    print(json.dumps(run(parser().parse_args())), flush=True)


if __name__ == "__main__":
    main()
