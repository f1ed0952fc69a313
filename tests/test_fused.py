"""The fused CPU engine (`simulate(..., engine="fused")`) against the generic engine.

Both engines compute the same step with the same float32 operations (the kernel reproduces
XLA's exp and its fused multiply-adds), so spike rasters are compared exactly. Without the
native library (`BRAINSIM_DISABLE_NATIVE=1`, no compiler) the fused-specific tests are skipped
and the fallback tests check that `"auto"` runs the generic engine.
"""

import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs
from brainsim.ops import _native

_REASON = _native.unavailable_reason(_native.NETWORK_KERNELS)
needs_fused = pytest.mark.skipif(
    _REASON is not None or jax.default_backend() != "cpu",
    reason=f"fused engine unavailable: {_REASON or 'not the CPU backend'}",
)


def _run(network, duration, engine, **kwargs):
    kwargs.setdefault("key", jr.key(2))
    return bs.simulate(network, duration, 0.1, engine=engine, **kwargs)


def _assert_same_spikes(a, b):
    assert set(a.spike_steps) == set(b.spike_steps)
    for name in a.spike_steps:
        np.testing.assert_array_equal(a.spike_steps[name], b.spike_steps[name], err_msg=name)
        np.testing.assert_array_equal(a.spike_indices[name], b.spike_indices[name], err_msg=name)
    for name in a.spike_counts:
        np.testing.assert_array_equal(a.spike_counts[name], b.spike_counts[name], err_msg=name)


def _assert_same_state(a, b, atol=1e-5):
    assert int(a.step) == int(b.step)
    assert a.populations.keys() == b.populations.keys() and a.projections.keys() == b.projections.keys()
    for name in a.populations:
        y_a, y_b = a.populations[name].neuron, b.populations[name].neuron
        np.testing.assert_allclose(y_a.v, y_b.v, atol=atol, rtol=0)
        np.testing.assert_allclose(y_a.refractory, y_b.refractory, atol=atol, rtol=0)
    for name in a.projections:
        g_a, g_b = a.projections[name].synapse.g, b.projections[name].synapse.g
        np.testing.assert_allclose(g_a, g_b, atol=atol, rtol=1e-6)
    assert a.history.keys() == b.history.keys()
    for name in a.history:
        np.testing.assert_array_equal(a.history[name], b.history[name])


def _delay_network(fmt="csr", weights="per_synapse"):
    """Two LIF populations, CSR or ELL connectivity, delays 3 and 5 steps, heterogeneous
    parameters on one population, one constant current."""
    rng = np.random.default_rng(0)
    n_a, n_b = 60, 40

    def conn(n_pre, n_post, w_scale):
        k = 6
        targets = rng.integers(0, n_post, size=(n_pre, k)).astype(np.int32)
        targets[::7, -1] = n_post  # ELL padding
        w = (rng.uniform(0.5, 1.5, size=(n_pre, k)) * w_scale).astype(np.float32)
        if weights == "homogeneous":
            w = np.float32(w_scale)
        if fmt == "procedural":  # homogeneous by construction; binomial row counts
            return bs.Procedural(jr.key(n_pre + 7 * n_post), n_pre, n_post, probability=0.1, weight=w_scale)
        if fmt == "ell":
            return bs.ELL(targets, w, n_post)
        rows, cols = np.nonzero(targets < n_post)
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_pre))])
        w_csr = w if np.ndim(w) == 0 else w[rows, cols]
        return bs.CSR(indptr.astype(np.int32), targets[rows, cols], w_csr, n_post)

    lif_a = bs.LIF(c_m=200.0, g_leak=10.0, e_leak=-60.0, v_threshold=-50.0, v_reset=-60.0, t_ref=2.0)
    lif_b = bs.LIF(
        c_m=jnp.asarray(rng.uniform(150, 250, n_b), jnp.float32),
        g_leak=10.0,
        e_leak=-55.0,
        v_threshold=-50.0,
        v_reset=-65.0,
        t_ref=1.0,
    )
    pops = [bs.Population("A", n_a, lif_a), bs.Population("B", n_b, lif_b)]
    projs = [
        bs.Projection("A", "B", conn(n_a, n_b, 3.0), bs.ExponentialSynapse(5.0), bs.COBA(0.0), delay_steps=3),
        bs.Projection("B", "A", conn(n_b, n_a, 20.0), bs.ExponentialSynapse(10.0), bs.CUBA(), delay_steps=5),
        bs.Projection("A", "A", conn(n_a, n_a, 2.0), bs.ExponentialSynapse(5.0), bs.COBA(0.0), delay_steps=3),
        bs.Projection("B", "B", conn(n_b, n_b, 4.0), bs.ExponentialSynapse(8.0), bs.COBA(-80.0)),
    ]
    inputs = [bs.ConstantCurrent("A", 260.0), bs.ConstantCurrent("B", rng.uniform(150, 300, n_b))]
    return bs.Network(pops, projs, inputs)


@pytest.fixture(scope="module")
def coba():
    return bs.models.COBANetwork(n=500, key=jr.key(1))


@pytest.fixture(scope="module")
def coba_procedural():
    return bs.models.COBANetwork(n=1000, in_degree=80, procedural=True, key=jr.key(1))


@pytest.fixture(scope="module")
def cuba():
    return bs.models.CUBANetwork(n=500, key=jr.key(1))


def test_engine_argument_is_validated(coba):
    with pytest.raises(ValueError, match="`engine` must be one of"):
        _run(coba, 1.0, "native")


def test_fused_refuses_with_reason():
    net = bs.Network(
        [bs.Population("A", 10, bs.AdEx())],
        inputs=[bs.ConstantCurrent("A", 100.0)],
    )
    plan, reason = bs.fused_plan(net)
    assert plan is None and "AdEx" in reason
    with pytest.raises(ValueError, match="engine='fused'.*AdEx"):
        _run(net, 1.0, "fused")
    _run(net, 1.0, "auto")  # falls back to the generic engine
    noisy = bs.Network(
        [bs.Population("A", 10, bs.LIF())],
        [
            bs.Projection(
                "A", "A", bs.Procedural(jr.key(0), 10, 10, degree=2, weight_std=0.1),
                bs.ExponentialSynapse(), bs.CUBA(),
            )
        ],
    )
    assert "not homogeneous" in bs.fused_plan(noisy)[1]


@needs_fused
def test_fused_refuses_monitors_and_event_inputs(coba):
    with pytest.raises(ValueError, match="monitors"):
        _run(coba, 1.0, "fused", monitors=["E.v"])
    auto = _run(coba, 1.0, "auto", monitors=["E.v"])  # generic engine records the trace
    assert auto.traces["E.v"].shape == (10, 400)
    net = bs.Network(
        [bs.Population("A", 10, bs.LIF())],
        inputs=[
            bs.PoissonInput(
                target="A",
                n_sources=10,
                rate=5.0,
                weight=1.0,
                synapse=bs.ExponentialSynapse(),
                output=bs.CUBA(),
            )
        ],
    )
    plan, reason = bs.fused_plan(net)
    assert plan is None and "PoissonInput" in reason


@needs_fused
def test_fused_refuses_under_transformations(coba):
    reasons = []

    def plan_reason(current):
        net = eqx.tree_at(lambda n: n.inputs[0].current, coba, current)
        reasons.append(bs.fused_plan(net)[1])
        return current

    jax.jit(plan_reason)(200.0)
    assert "traced" in reasons[0]
    assert bs.fused_plan(coba)[1] is None


class _TaggedSynapse(bs.AbstractLinearSynapse):
    """An exponential synapse the fused engine has never heard of."""

    tau: float = 5.0

    def init_state(self, n, *, key=None):
        return bs.ExponentialSynapseState(g=jnp.zeros(n))

    def linear_coefficients(self, t, y, args=None):
        return bs.ExponentialSynapseState(g=jnp.full_like(y.g, -1.0 / self.tau)), bs.ExponentialSynapseState(
            g=jnp.zeros_like(y.g)
        )

    def on_events(self, y, delivered):
        return bs.ExponentialSynapseState(g=y.g + delivered)

    def value(self, y):
        return y.g


class _ProjectionWithRule(bs.Projection):
    """A projection carrying a field (a would-be plasticity rule) the fused engine does not know."""

    rule: str = "stdp"


@needs_fused
def test_fused_fails_closed_on_unknown_components_and_fields(coba):
    unknown_type = eqx.tree_at(lambda n: n.projections[0].synapse, coba, _TaggedSynapse())
    plan, reason = bs.fused_plan(unknown_type)
    assert plan is None and "_TaggedSynapse" in reason and "E->E" in reason
    with pytest.raises(ValueError, match="_TaggedSynapse"):
        _run(unknown_type, 1.0, "fused")
    generic = _run(unknown_type, 5.0, "auto")  # auto falls back to the generic engine
    reference = _run(coba, 5.0, "generic")
    np.testing.assert_array_equal(generic.spike_indices["E"], reference.spike_indices["E"])

    p = coba.projections[0]
    with_rule = _ProjectionWithRule(p.pre, p.post, p.connectivity, p.synapse, p.output, name=p.name)
    net = bs.Network(coba.populations, (with_rule,) + coba.projections[1:], coba.inputs)
    plan, reason = bs.fused_plan(net)
    assert plan is None and "_ProjectionWithRule" in reason


@needs_fused
def test_fused_refuses_a_field_missing_from_its_allow_list(coba, monkeypatch):
    """As if a field were added to `Projection` without teaching the fused engine about it."""
    from brainsim import fused

    known = tuple(f for f in fused._UNDERSTOOD_FIELDS[bs.Projection] if f != "max_delay_steps")
    monkeypatch.setitem(fused._UNDERSTOOD_FIELDS, bs.Projection, known)
    plan, reason = bs.fused_plan(coba)
    assert plan is None and "['max_delay_steps']" in reason and "E->E" in reason

    monkeypatch.undo()
    p = coba.projections[0]
    plastic = bs.Network(
        coba.populations,
        (bs.Projection(p.pre, p.post, p.connectivity, p.synapse, p.output, plastic=True),)
        + coba.projections[1:],
        coba.inputs,
    )
    plan, reason = bs.fused_plan(plastic)
    assert plan is None and "plastic" in reason


@needs_fused
@pytest.mark.parametrize("model", ["coba", "cuba", "coba_procedural"])
def test_fused_matches_generic(model, coba, cuba, coba_procedural):
    network = {"coba": coba, "cuba": cuba, "coba_procedural": coba_procedural}[model]
    plan, reason = bs.fused_plan(network)
    assert plan is not None, reason
    generic = _run(network, 40.0, "generic")
    fused = _run(network, 40.0, "fused")
    assert sum(int(c.sum()) for c in fused.spike_counts.values()) > 50
    _assert_same_spikes(generic, fused)
    _assert_same_state(generic.final_state, fused.final_state)
    assert {k: int(v) for k, v in generic.overflow_steps.items()} == {
        k: int(v) for k, v in fused.overflow_steps.items()
    }
    auto = _run(network, 40.0, "auto")
    _assert_same_spikes(auto, fused)


@needs_fused
@pytest.mark.parametrize(
    ("fmt", "weights"),
    [("csr", "per_synapse"), ("ell", "homogeneous"), ("ell", "per_synapse"), ("procedural", "homogeneous")],
)
def test_fused_matches_generic_with_delays(fmt, weights):
    network = _delay_network(fmt, weights)
    assert bs.fused_plan(network)[0] is not None
    generic = _run(network, 30.0, "generic")
    fused = _run(network, 30.0, "fused")
    assert all(int(c.sum()) > 0 for c in fused.spike_counts.values())
    _assert_same_spikes(generic, fused)
    _assert_same_state(generic.final_state, fused.final_state)


@needs_fused
def test_continuation_across_engines(coba):
    whole = _run(coba, 30.0, "generic")
    first = _run(coba, 10.0, "fused")
    second = _run(coba, 10.0, "generic", initial_state=first.final_state)
    third = _run(coba, 10.0, "fused", initial_state=second.final_state)
    assert third.start_time == pytest.approx(20.0)
    for name in whole.spike_steps:
        steps = np.concatenate([r.spike_steps[name] + 100 * i for i, r in enumerate((first, second, third))])
        indices = np.concatenate([r.spike_indices[name] for r in (first, second, third)])
        np.testing.assert_array_equal(steps, whole.spike_steps[name])
        np.testing.assert_array_equal(indices, whole.spike_indices[name])
    _assert_same_state(third.final_state, whole.final_state)


@needs_fused
def test_chunking_invariance_and_recording_options(coba):
    one = _run(coba, 20.0, "fused")
    chunked = _run(coba, 20.0, "fused", chunk_steps=7)
    _assert_same_spikes(one, chunked)
    _assert_same_state(one.final_state, chunked.final_state, atol=0)
    subset = _run(coba, 20.0, "fused", record_spikes=("I",), chunk_steps=64)
    assert set(subset.spike_steps) == {"I"}
    np.testing.assert_array_equal(subset.spike_indices["I"], one.spike_indices["I"])
    counts_only = _run(coba, 20.0, "fused", record_spikes=False)
    assert counts_only.spike_steps == {}
    np.testing.assert_array_equal(counts_only.spike_counts["E"], one.spike_counts["E"])


@needs_fused
def test_same_key_same_spikes(coba):
    a = _run(coba, 10.0, "fused", key=jr.key(7))
    b = _run(coba, 10.0, "fused", key=jr.key(7))
    c = _run(coba, 10.0, "fused", key=jr.key(8))
    _assert_same_spikes(a, b)
    v_a, v_c = a.final_state.populations["E"].neuron.v, c.final_state.populations["E"].neuron.v
    assert not np.array_equal(v_a, v_c)


@needs_fused
@pytest.mark.parametrize("engine", ["generic", "fused"])
def test_nonfinite_state_raises(engine, coba):
    state = coba.init_state(key=jr.key(0))
    v = state.populations["I"].neuron.v.at[3].set(jnp.nan)
    state = eqx.tree_at(lambda s: s.populations["I"].neuron.v, state, v)
    with pytest.raises(bs.NonFiniteStateError, match="population `I`.*step 0"):
        _run(coba, 5.0, engine, initial_state=state)


@needs_fused
def test_overflow_counts_match():
    base = _delay_network("csr")
    projs = [
        bs.Projection(
            p.pre,
            p.post,
            bs.CSR(
                p.connectivity.indptr,
                p.connectivity.indices,
                p.connectivity.weights,
                p.connectivity.n_post,
                max_active=1,
            ),
            p.synapse,
            p.output,
            delay_steps=p.delay_steps,
        )
        for p in base.projections
    ]
    network = bs.Network(base.populations, projs, base.inputs)
    generic = _run(network, 20.0, "generic", record_spikes=False)
    fused = _run(network, 20.0, "fused", record_spikes=False)
    counts = {k: int(v) for k, v in fused.overflow_steps.items()}
    assert counts == {k: int(v) for k, v in generic.overflow_steps.items()}
    assert max(counts.values()) > 0


def test_without_native_library_auto_falls_back(coba, monkeypatch):
    def fail(stem=None):
        raise OSError("simulated missing library")

    _native._reset_for_tests()
    monkeypatch.setattr(_native, "_load_library", fail)
    try:
        plan, reason = bs.fused_plan(coba)
        assert plan is None and "native library unavailable" in reason
        with pytest.raises(ValueError, match="native library unavailable"):
            _run(coba, 1.0, "fused")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the event kernels' fallback note
            result = _run(coba, 5.0, "auto")
        assert int(result.final_state.step) == 50
    finally:
        monkeypatch.undo()
        _native._reset_for_tests()


@pytest.fixture
def two_threads(monkeypatch):
    """The fused kernel with 2 threads even for small networks."""
    monkeypatch.setattr(bs.fused, "MIN_NEURONS_PER_THREAD", 16)
    monkeypatch.setenv("BRAINSIM_NATIVE_THREADS", "2")


@needs_fused
@pytest.mark.parametrize("model", ["coba", "coba_procedural", "delays"])
def test_threads_give_identical_results(model, coba, coba_procedural, two_threads):
    """Each thread owns a slice of every population and sums its neurons' inputs in row order,
    so the spikes and state are those of the generic engine (the delay network also has a delay
    equal to its history length: rows read and overwritten in the same step)."""
    network = {"coba": coba, "coba_procedural": coba_procedural, "delays": _delay_network()}[model]
    assert bs.fused_plan(network)[0].threads == 2
    generic = _run(network, 30.0, "generic")
    fused = _run(network, 30.0, "fused")
    _assert_same_spikes(generic, fused)
    _assert_same_state(generic.final_state, fused.final_state)


def test_thread_count(monkeypatch):
    monkeypatch.setenv("BRAINSIM_NATIVE_THREADS", "3")
    assert bs.fused.thread_count(10 * bs.fused.MIN_NEURONS_PER_THREAD) == 3
    assert bs.fused.thread_count(2 * bs.fused.MIN_NEURONS_PER_THREAD) == 2
    assert bs.fused.thread_count(100) == 1
    monkeypatch.setenv("BRAINSIM_NATIVE_THREADS", "zero")
    with pytest.raises(ValueError, match="BRAINSIM_NATIVE_THREADS"):
        bs.fused.thread_count(10**6)
