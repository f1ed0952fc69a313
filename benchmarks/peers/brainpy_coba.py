"""Brette et al. (2007) benchmarks in BrainPy 2.9 on CPU: one JSON line per run.

    .venv-brainpy/bin/python brainpy_coba.py --model coba|cuba|cobahh --n N --duration S \
        [--in-degree K] [--threads T] [--seed S]

Runs in benchmarks/peers/.venv-brainpy (BrainPy 2.9, Python 3.12), never in brainsim's venv.
The networks follow BrainPy's own E/I benchmark (`bp.dyn.LifRef`, a `bp.VarDelay` of the spikes,
`bp.dyn.HalfProjAlignPostMg` with `bp.dnn.EventCSRLinear`, `bp.dyn.Expon`, `bp.dyn.COBA`), in
BrainPy's dimensionless LIF form: conductances in units of g_L = 10 nS (w_e = 0.6, w_i = 6.7),
the 200 pA drive as 20 mV through R = 1 / g_L. COBAHH writes Brian2's Traub-Miles equations out
(pA, nS, pF, mV, ms).

Timings (seconds of wall clock):
  build_s    network construction (connectivity included)
  compile_s  first call of the jitted `bm.for_loop` over all steps minus run_s
  run_s      a second call of the same compiled loop from the same initial state: the
             simulation loop only (spike counts per step are its only output)
peak_rss_mb is this process's peak resident set (ru_maxrss).
"""

import argparse
import json
import os
import resource
import time

# CPU only (set before jax loads).
os.environ.setdefault("JAX_PLATFORMS", "cpu")


def build(model, n, in_degree, seed):
    import brainpy as bp
    import brainpy.math as bm
    import numpy as np

    n_exc = round(0.8 * n)
    n_inh = n - n_exc
    rng = np.random.RandomState(seed)

    def conn(pre, post, salt):
        if in_degree is None:
            return bp.conn.FixedProb(0.02, pre=pre, post=post, seed=seed * 10 + salt)
        # Fixed in-degree split 80/20 between E and I sources, as brainsim's FixedInDegree.
        k_exc = min(round(0.8 * in_degree), n_exc)
        k = k_exc if salt == 0 else min(in_degree - k_exc, n_inh)
        return fixed_in_degree(pre, post, k, np.random.RandomState(seed * 10 + salt))

    def fixed_in_degree(n_pre, n_post, k, draws):
        """`k` distinct random sources per target, drawn with NumPy and handed to BrainPy as
        `IJConn`: the connectivity of `bp.conn.FixedPreNum(k)`, whose builder costs O(n_pre) per
        target (26 s at N = 40,000; it did not finish in 40 min at 400,000). BrainPy's
        simulation runs the same event-CSR operator either way."""
        sources = draws.randint(0, n_pre, size=(n_post, k))
        while True:  # redraw the rows holding a repeated source (about 1% of rows at k = 64)
            ordered = np.sort(sources, axis=1)
            repeated = np.any(ordered[:, 1:] == ordered[:, :-1], axis=1)
            if not repeated.any():
                break
            sources[repeated] = draws.randint(0, n_pre, size=(int(repeated.sum()), k))
        targets = np.repeat(np.arange(n_post), k)
        return bp.conn.IJConn(i=sources.ravel(), j=targets)(pre_size=n_pre, post_size=n_post)

    class TraubMilesHH(bp.dyn.NeuDyn):
        """Brian2's examples/COBAHH.py neuron; spike = upward crossing of -20 mV."""

        def __init__(self, size, v0, **kwargs):
            super().__init__(size=size, **kwargs)
            self.C, self.gl, self.El = 200.0, 10.0, -60.0  # pF, nS, mV
            self.g_na, self.g_kd, self.ENa, self.EK, self.VT = 20e3, 6e3, 50.0, -90.0, -63.0
            v0 = bm.asarray(v0, dtype=bm.float32)
            self.V = bm.Variable(v0)
            self.m = bm.Variable(self._alpha_m(v0) / (self._alpha_m(v0) + self._beta_m(v0)))
            self.h = bm.Variable(self._alpha_h(v0) / (self._alpha_h(v0) + self._beta_h(v0)))
            self.n = bm.Variable(self._alpha_n(v0) / (self._alpha_n(v0) + self._beta_n(v0)))
            self.spike = bm.Variable(bm.zeros(self.varshape, dtype=bool))
            self.integral = bp.odeint(
                bp.JointEq(self.dV, self.dm, self.dh, self.dn), method="exp_auto"
            )

        @staticmethod
        def _exprel(x):
            return bm.where(bm.abs(x) < 1e-4, 1.0 + x / 2.0, bm.expm1(x) / x)

        def _alpha_m(self, v):
            return 0.32 * 4.0 / self._exprel((13.0 - v + self.VT) / 4.0)

        def _beta_m(self, v):
            return 0.28 * 5.0 / self._exprel((v - self.VT - 40.0) / 5.0)

        def _alpha_h(self, v):
            return 0.128 * bm.exp((17.0 - v + self.VT) / 18.0)

        def _beta_h(self, v):
            return 4.0 / (1.0 + bm.exp((40.0 - v + self.VT) / 5.0))

        def _alpha_n(self, v):
            return 0.032 * 5.0 / self._exprel((15.0 - v + self.VT) / 5.0)

        def _beta_n(self, v):
            return 0.5 * bm.exp((10.0 - v + self.VT) / 40.0)

        def dm(self, m, t, V):
            return self._alpha_m(V) * (1 - m) - self._beta_m(V) * m

        def dh(self, h, t, V):
            return self._alpha_h(V) * (1 - h) - self._beta_h(V) * h

        def dn(self, n, t, V):
            return self._alpha_n(V) * (1 - n) - self._beta_n(V) * n

        def dV(self, V, t, m, h, n, i_syn):
            i_na = self.g_na * m**3 * h * (V - self.ENa)
            i_k = self.g_kd * n**4 * (V - self.EK)
            return (self.gl * (self.El - V) - i_na - i_k + i_syn) / self.C

        def update(self, x=None):
            t, dt = bp.share["t"], bp.share["dt"]
            i_syn = self.sum_current_inputs(self.V.value, init=0.0 if x is None else x)
            V, m, h, n = self.integral(
                self.V.value, self.m.value, self.h.value, self.n.value, t, i_syn, dt
            )
            self.spike.value = bm.logical_and(self.V < -20.0, V >= -20.0)
            self.V.value, self.m.value, self.h.value, self.n.value = V, m, h, n
            return self.spike.value

    class EINet(bp.DynSysGroup):
        def __init__(self):
            super().__init__()
            self.n_exc = n_exc
            if model == "cobahh":
                self.N = TraubMilesHH(n, v0=-65.0 + 5.0 * rng.randn(n))
                w_e, w_i, out_e, out_i = (
                    6.0,
                    67.0,
                    bp.dyn.COBA.desc(E=0.0),
                    bp.dyn.COBA.desc(E=-80.0),
                )
            elif model == "coba":
                self.N = bp.dyn.LifRef(
                    n,
                    V_rest=-60.0,
                    V_th=-50.0,
                    V_reset=-60.0,
                    tau=20.0,
                    tau_ref=5.0,
                    V_initializer=bp.init.Uniform(-60.0, -50.0),
                )
                w_e, w_i, out_e, out_i = (
                    0.6,
                    6.7,
                    bp.dyn.COBA.desc(E=0.0),
                    bp.dyn.COBA.desc(E=-80.0),
                )
            else:  # cuba: Brian2's examples/CUBA.py, weights as voltage jumps in mV
                self.N = bp.dyn.LifRef(
                    n,
                    V_rest=-49.0,
                    V_th=-50.0,
                    V_reset=-60.0,
                    tau=20.0,
                    tau_ref=5.0,
                    V_initializer=bp.init.Uniform(-60.0, -50.0),
                )
                w_e, w_i, out_e, out_i = (
                    60 * 0.27 / 10,
                    -20 * 4.5 / 10,
                    bp.dyn.CUBA.desc(),
                    bp.dyn.CUBA.desc(),
                )
            # `at('I')` is the previous step's spikes: one-step spike-to-conductance latency.
            self.delay = bp.VarDelay(self.N.spike, entries={"I": None})
            self.E = bp.dyn.HalfProjAlignPostMg(
                comm=bp.dnn.EventCSRLinear(conn(n_exc, n, 0), weight=w_e),
                syn=bp.dyn.Expon.desc(size=n, tau=5.0),
                out=out_e,
                post=self.N,
            )
            self.I = bp.dyn.HalfProjAlignPostMg(
                comm=bp.dnn.EventCSRLinear(conn(n_inh, n, 1), weight=w_i),
                syn=bp.dyn.Expon.desc(size=n, tau=10.0),
                out=out_i,
                post=self.N,
            )

        def update(self, inp):
            spk = self.delay.at("I")
            self.E(spk[: self.n_exc])
            self.I(spk[self.n_exc :])
            self.delay(self.N(inp))
            return self.N.spike.value.sum()

    net = EINet()
    if model == "cobahh":  # Brian2's COBAHH.py initial conductances (nS)
        net.E.syn.g.value = bm.asarray(40.0 + 15.0 * rng.randn(n), dtype=bm.float32)
        net.I.syn.g.value = bm.asarray(200.0 + 120.0 * rng.randn(n), dtype=bm.float32)
    synapses = int(net.E.comm.indices.size) + int(net.I.comm.indices.size)
    drive = {"coba": 20.0, "cuba": 0.0, "cobahh": 0.0}[model]
    return net, drive, synapses


def run(model, n, duration_s, in_degree, threads, seed):
    import brainpy as bp
    import brainpy.math as bm
    import jax
    import numpy as np

    bm.set_platform("cpu")
    bm.set_environment(x64=False, dt=0.1)
    bm.random.seed(seed)

    start = time.perf_counter()
    net, drive, synapses = build(model, n, in_degree, seed)
    jax.block_until_ready(jax.tree_util.tree_leaves(net.vars().unique().dict()))
    build_s = time.perf_counter() - start

    n_steps = int(round(duration_s * 1000.0 / 0.1))
    initial = {k: v.value for k, v in net.vars().unique().items()}

    def step(i):
        return net.step_run(i, drive)  # sets bp.share's i and t, then net.update(drive)

    @bm.jit
    def simulate(indices):
        return bm.for_loop(step, indices)

    indices = np.arange(n_steps)

    def once():
        for k, v in net.vars().unique().items():
            v.value = initial[k]
        start = time.perf_counter()
        counts = simulate(indices)
        counts = jax.block_until_ready(counts)
        return time.perf_counter() - start, counts

    first_s, _ = once()
    run_s, counts = once()
    spikes = int(np.asarray(counts).sum())
    return {
        "model": model,
        "n": n,
        "in_degree": in_degree,
        "synapses": synapses,
        "duration": duration_s,
        "dt": 0.1,
        "build_s": round(build_s, 4),
        "compile_s": round(max(first_s - run_s, 0.0), 4),
        "run_s": round(run_s, 4),
        "first_call_s": round(first_s, 4),
        "spikes": spikes,
        "rate_hz": round(spikes / (n * duration_s), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "simulator": "brainpy",
        "brainpy": bp.__version__,
        "jax": jax.__version__,
        "device": jax.devices()[0].device_kind,
        "float": np.dtype(bm.float_).name,
        "threads": threads,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["coba", "cuba", "cobahh"], default="coba")
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--duration", type=float, default=1.0, help="biological seconds")
    parser.add_argument("--in-degree", type=int, default=None)
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="recorded only: XLA's CPU runtime picks its own threads",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    result = run(args.model, args.n, args.duration, args.in_degree, args.threads, args.seed)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
