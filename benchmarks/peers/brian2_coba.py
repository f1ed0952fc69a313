"""Brette et al. (2007) benchmarks in Brian2 C++ standalone mode: one JSON line per run.

    .venv-brian2/bin/python brian2_coba.py --model coba|cuba|cobahh --n N --duration S \
        [--in-degree K] [--threads T] [--seed S]

Runs in benchmarks/peers/.venv-brian2 (Brian2 2.11, Python >= 3.13), never in brainsim's venv.

Timings (seconds of wall clock):
  build_s    network construction in Python (groups, synapse declarations, initial values);
             in standalone mode the synapses themselves are created by the compiled binary
  compile_s  the `run()` call plus `device.build(compile=True, run=False)`: code generation
             and `make`
  run_s      the simulation loop only: the binary's own measurement of `network.run`
             (`device._last_run_time`, read from results/last_run_info.txt)
  binary_s   the whole binary, i.e. synapse creation + initialisation + run_s + writing results
peak_rss_mb is the standalone binary's own peak resident set (os.wait4 on it).
"""

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time

# A tiny launcher for the standalone binary: runs it and records its own peak RSS (kB on Linux).
_LAUNCHER = (
    "import os, subprocess, sys\n"
    "p = subprocess.Popen(sys.argv[2:])\n"
    "_, status, ru = os.wait4(p.pid, 0)\n"
    "open(sys.argv[1], 'w').write(str(ru.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def build_network(model, n, in_degree, seed):
    """Declares the network (Brian2 names imported inside, after the device is set)."""
    from brian2 import (
        NeuronGroup,
        SpikeMonitor,
        Synapses,
        ms,
        mV,
        nS,
        pA,
        pF,
        seed as brian_seed,
        uS,
    )

    brian_seed(seed)
    n_exc = round(0.8 * n)
    n_inh = n - n_exc

    if model == "coba":
        C, gl, El, Vt, Vr = 200 * pF, 10 * nS, -60 * mV, -50 * mV, -60 * mV
        Ee, Ei, taue, taui = 0 * mV, -80 * mV, 5 * ms, 10 * ms
        we, wi, Ib = 6 * nS, 67 * nS, 200 * pA
        eqs = """
        dv/dt = (gl*(El - v) + ge*(Ee - v) + gi*(Ei - v) + Ib) / C : volt (unless refractory)
        dge/dt = -ge / taue : siemens
        dgi/dt = -gi / taui : siemens
        """
        P = NeuronGroup(
            n,
            eqs,
            threshold="v > Vt",
            reset="v = Vr",
            refractory=5 * ms,
            method="exponential_euler",
        )
        P.v = "Vr + rand() * (Vt - Vr)"
        P.ge = 0 * nS
        P.gi = 0 * nS
    elif model == "cuba":
        # Brian2's examples/CUBA.py (integrated with exponential Euler like the others).
        taum, taue, taui = 20 * ms, 5 * ms, 10 * ms
        Vt, Vr, El = -50 * mV, -60 * mV, -49 * mV
        we, wi = (60 * 0.27 / 10) * mV, (-20 * 4.5 / 10) * mV
        eqs = """
        dv/dt = (ge + gi - (v - El)) / taum : volt (unless refractory)
        dge/dt = -ge / taue : volt
        dgi/dt = -gi / taui : volt
        """
        P = NeuronGroup(
            n,
            eqs,
            threshold="v > Vt",
            reset="v = Vr",
            refractory=5 * ms,
            method="exponential_euler",
        )
        P.v = "Vr + rand() * (Vt - Vr)"
        P.ge = 0 * mV
        P.gi = 0 * mV
    elif model == "cobahh":
        # Brian2's examples/COBAHH.py (Traub & Miles 1991).
        Cm, gl, El, EK, ENa = 200 * pF, 10 * nS, -60 * mV, -90 * mV, 50 * mV
        g_na, g_kd, VT = 20 * uS, 6 * uS, -63 * mV
        Ee, Ei, taue, taui = 0 * mV, -80 * mV, 5 * ms, 10 * ms
        we, wi = 6 * nS, 67 * nS
        eqs = """
        dv/dt = (gl*(El - v) + ge*(Ee - v) + gi*(Ei - v)
                 - g_na*(m*m*m)*h*(v - ENa) - g_kd*(n*n*n*n)*(v - EK)) / Cm : volt
        dm/dt = alpha_m*(1 - m) - beta_m*m : 1
        dn/dt = alpha_n*(1 - n) - beta_n*n : 1
        dh/dt = alpha_h*(1 - h) - beta_h*h : 1
        dge/dt = -ge*(1./taue) : siemens
        dgi/dt = -gi*(1./taui) : siemens
        alpha_m = 0.32*(mV**-1)*4*mV/exprel((13*mV - v + VT)/(4*mV))/ms : Hz
        beta_m = 0.28*(mV**-1)*5*mV/exprel((v - VT - 40*mV)/(5*mV))/ms : Hz
        alpha_h = 0.128*exp((17*mV - v + VT)/(18*mV))/ms : Hz
        beta_h = 4./(1 + exp((40*mV - v + VT)/(5*mV)))/ms : Hz
        alpha_n = 0.032*(mV**-1)*5*mV/exprel((15*mV - v + VT)/(5*mV))/ms : Hz
        beta_n = .5*exp((10*mV - v + VT)/(40*mV))/ms : Hz
        """
        # A spike is an upward crossing of -20 mV.
        P = NeuronGroup(
            n, eqs, threshold="v > -20*mV", refractory="v > -20*mV", method="exponential_euler"
        )
        P.v = "El + (randn() * 5 - 5)*mV"
        P.ge = "(randn() * 1.5 + 4) * 10.*nS"
        P.gi = "(randn() * 12 + 20) * 10.*nS"
        # Gates at their steady state for the initial v (Brian2's example leaves them at 0;
        # brainsim starts them at steady state).
        P.m = "alpha_m / (alpha_m + beta_m)"
        P.n = "alpha_n / (alpha_n + beta_n)"
        P.h = "alpha_h / (alpha_h + beta_h)"
    else:
        raise ValueError(model)

    Pe, Pi = P[:n_exc], P[n_exc:]
    # No delay: a spike at step t changes g at step t and v from step t+1 (one-step latency).
    Ce = Synapses(Pe, P, on_pre="ge += we")
    Ci = Synapses(Pi, P, on_pre="gi += wi")
    if in_degree is None:
        Ce.connect(p=0.02)
        Ci.connect(p=0.02)
    else:
        # Fixed in-degree, split 80/20 between E and I sources as brainsim's FixedInDegree:
        # every target j draws exactly k_exc E and k_inh I partners without replacement.
        k_exc = min(round(0.8 * in_degree), n_exc)
        k_inh = min(in_degree - round(0.8 * in_degree), n_inh)
        Ce.connect(i=f"k for k in sample(N_pre, size={k_exc})")
        Ci.connect(i=f"k for k in sample(N_pre, size={k_inh})")
    monitor = SpikeMonitor(P, record=False)  # spike counts only, no spike times
    # The constants above, for resolving the equations at run() time.
    namespace = {k: v for k, v in locals().items() if not k.startswith("_")}
    return P, Ce, Ci, monitor, namespace


def run(model, n, duration_s, in_degree, threads, seed, keep):
    import brian2
    from brian2 import device, float32, prefs, run as brian_run, second, set_device

    workdir = tempfile.mkdtemp(prefix=f"brian2_{model}_{n}_")
    rss_file = os.path.join(workdir, "binary_maxrss_kb")
    try:
        set_device("cpp_standalone", directory=workdir, build_on_run=False)
        prefs.core.default_float_dtype = float32
        prefs.devices.cpp_standalone.openmp_threads = threads if threads > 1 else 0
        prefs.devices.cpp_standalone.run_cmd_unix = [
            sys.executable,
            "-c",
            _LAUNCHER,
            rss_file,
            "./main",
        ]
        brian2.defaultclock.dt = 0.1 * brian2.ms

        start = time.perf_counter()
        _, Ce, Ci, monitor, namespace = build_network(model, n, in_degree, seed)
        build_s = time.perf_counter() - start

        start = time.perf_counter()
        brian_run(duration_s * second, namespace=namespace)
        device.build(directory=workdir, compile=True, run=False, with_output=False)
        compile_s = time.perf_counter() - start

        start = time.perf_counter()
        device.run(directory=workdir, with_output=False)
        binary_s = time.perf_counter() - start
        run_s = float(device._last_run_time)

        spikes = int(monitor.num_spikes)
        synapses = int(len(Ce)) + int(len(Ci))
        with open(rss_file) as f:
            binary_rss_mb = int(f.read()) / 1024
        result = {
            "model": model,
            "n": n,
            "in_degree": in_degree,
            "synapses": synapses,
            "duration": duration_s,
            "dt": 0.1,
            "build_s": round(build_s, 4),
            "compile_s": round(compile_s, 4),
            "run_s": round(run_s, 4),
            "binary_s": round(binary_s, 4),
            "spikes": spikes,
            "rate_hz": round(spikes / (n * duration_s), 3),
            "peak_rss_mb": round(binary_rss_mb, 1),
            "python_peak_rss_mb": round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
            ),
            "simulator": "brian2",
            "brian2": brian2.__version__,
            "mode": "cpp_standalone",
            "float": "float32",
            "threads": threads,
        }
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["coba", "cuba", "cobahh"], default="coba")
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--duration", type=float, default=1.0, help="biological seconds")
    parser.add_argument("--in-degree", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1, help="OpenMP threads (1: none)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the generated project")
    args = parser.parse_args()
    result = run(
        args.model, args.n, args.duration, args.in_degree, args.threads, args.seed, args.keep
    )
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
