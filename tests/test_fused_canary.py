"""Canary: does the installed JAX/XLA still compute float32 `exp` and the LIF update the way the
fused kernel's copy does?

The fused CPU engine (`simulate(..., engine="fused")`, `brainsim/ops/_native/`) gives the same
spikes as the generic engine only because it copies two choices of XLA's CPU backend
(`brainsim/ops/_native/xla_math.h`): its float32 `exp` (a Cephes-style polynomial with
Cody-Waite range reduction, evaluated with fused multiply-adds) and where it contracts
`a * b + c` into one FMA. `jax` is not pinned (`jax>=0.6`), so an upgrade can change either
silently; these tests compare the primitives bit for bit, so that such an upgrade fails here,
with the jax version and what to do, rather than as an unexplained raster mismatch in
`tests/test_fused.py`.

Known deviation (jax/jaxlib 0.10.2, AVX-512 host, measured 2026-12-05): the copy is not XLA's
exp everywhere. Where the range reduction is trivial, |x| < ln(2)/2 = 0.3466 (n = 0), 4 million
random inputs and the grids below match bit for bit in long arrays; a few single elements of
short arrays (lengths 7, 13, 14, 15) differ by 1 ulp (XLA compiles those differently).
Elsewhere 0.2% of inputs differ, by 1 ulp (up to 5 ulp for x > 88.6, near overflow), and XLA
flushes subnormal results (x < -87.34) to zero. The LIF exponent a dt lies in the trivial range
for |a| < 0.3466 / dt (34.7 1/ms at dt = 0.1 ms; the COBA/CUBA benchmark networks have |a| of
order 0.1 1/ms),
which is why `tests/test_fused.py` sees identical rasters; the synaptic decay exp(-dt / tau) is
computed by XLA for both engines. These tests pin the deviation with headroom (`_RARE`,
`_MAX_DEVIATING`): a changed polynomial, range reduction or FMA moves far more inputs.

Checked, on the CPU backend, against the native copy (with the instruction set the kernel
chose, `_native.network_isa()`):

- bit for bit (at most `_RARE` of the elements 1 ulp apart), `jax.jit(jnp.exp)` on float32
  grids of the trivial range: every float in [-1e-2, 1e-2] at a stride, the LIF exponent `a dt`
  with `a` in [-10, 0] 1/ms and `dt` in [0.001, 1] ms, the synaptic decay exponent `-dt / tau`
  with `tau` in [0.1, 1000] ms, and +-0 and small special values exactly; every array length
  up to 33 (XLA's vectorised loop and its remainder) within 1 ulp;
- likewise (`_RARE`, 1 ulp), `jax.jit(exponential_euler_update)` (the LIF membrane update `v e + b phi`, with
  its Taylor branch for |a dt| < 1e-2 and its FMAs) against the kernel's `ExponentialEuler`;
- outside the exact range (the whole clamped range and beyond, +-inf, NaN, the
  range-reduction boundaries `(k + 1/2) ln 2`): the known deviation above, no more.

Tolerance contract (what still holds when these tests fail and the copy is stale):

- Both engines stay correct integrators of the same model; only float32 rounding differs. A
  different `exp` or FMA contraction changes one step's v by at most a few ulp (relative
  ~1e-7 to 1e-6 of |v|), so a single step from the same state gives the same spikes unless a
  neuron lies within those ulps of threshold.
- Spike rasters are then equal only up to the first such near-threshold neuron; afterwards a
  recurrent network's trajectories diverge (chaotic dynamics), and `tests/test_fused.py`'s exact
  raster comparisons fail. Population statistics stay within the run-to-run spread of a chaotic
  network: measured by running the fused kernel with the wrong FMA choice
  (`BRAINSIM_NATIVE_ISA=baseline` on an FMA machine, every exp and multiply-add off by up to an
  ulp) against the generic engine, COBA N=4000 over 1 s (about 20 Hz, `benchmarks/coba.py`):
  mean rates -1.0% (seed 0) and +2.7% (seed 1). So: no exact rasters, rates within a few percent
  over 1 s, no change in the model.
- What to do: re-derive the copy (xla_math.h / lif_update.h) from the new XLA
  (xla/backends/cpu/codegen/polynomial_approximations.cc and the CPU backend's FMA
  contraction), or pin `jax`/`jaxlib` below the release that changed it; until then run with
  `engine="generic"` where bit-identity matters.
"""

import jax
import jax.numpy as jnp
import jaxlib
import numpy as np
import pytest

from brainsim.ops import _native

try:  # the generic step's LIF update (moved from brainsim.integrate to brainsim.dynamics)
    from brainsim.dynamics.base import exponential_euler_update
except ImportError:
    from brainsim.integrate.exponential_euler import exponential_euler_update

_REASON = _native.unavailable_reason(_native.NETWORK_KERNELS)
pytestmark = pytest.mark.skipif(
    _REASON is not None or jax.default_backend() != "cpu",
    reason=f"fused kernel unavailable: {_REASON or 'not the CPU backend'}",
)

_WHAT_TO_DO = (
    "The fused engine (engine='fused'/'auto') no longer reproduces the generic engine bit for "
    "bit. Re-derive the copy in brainsim/ops/_native/xla_math.h (exp) / lif_update.h (FMAs) from "
    "this XLA (xla/backends/cpu/codegen/polynomial_approximations.cc), or pin jax/jaxlib below "
    "this release; meanwhile use engine='generic' where exact spikes matter (see this file's "
    "tolerance contract)."
)


def _versions() -> str:
    return f"jax {jax.__version__}, jaxlib {jaxlib.__version__}, kernel ISA {_native.network_isa()}"


def _bits(x: np.ndarray) -> np.ndarray:
    return np.array(x, dtype=np.float32, order="C").view(np.int32)


def _ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance in float32 steps (ordered bit patterns), 0 for two NaNs."""

    def ordered(x):
        i = _bits(x).astype(np.int64)
        return np.where(i < 0, -(i & 0x7FFFFFFF), i)

    both_nan = np.isnan(a) & np.isnan(b)
    return np.where(both_nan, 0, np.abs(ordered(a) - ordered(b)))


def _assert_matches(expected, copied, inputs: dict, what: str, max_fraction=0.0, max_ulps=0) -> None:
    """`expected` (XLA) and `copied` (the kernel's copy) equal bit for bit (NaN payloads aside),
    except at most `max_fraction` of the elements, each at most `max_ulps` apart."""
    expected = np.asarray(expected, dtype=np.float32)
    copied = np.asarray(copied, dtype=np.float32)
    same = (_bits(expected) == _bits(copied)) | (np.isnan(expected) & np.isnan(copied))
    if same.all():
        return
    bad = np.flatnonzero(~same.ravel())
    ulps = _ulps(expected.ravel()[bad], copied.ravel()[bad])
    fraction = bad.size / same.size
    if fraction <= max_fraction and ulps.max() <= max_ulps:
        return
    lines = []
    for i in bad[:8]:
        args = ", ".join(f"{k}={np.float32(v.ravel()[i])!r}" for k, v in inputs.items())
        lines.append(
            f"  {what}({args}): XLA {np.float32(expected.ravel()[i])!r} "
            f"(0x{int(_bits(expected).ravel()[i]) & 0xFFFFFFFF:08x}), copy "
            f"{np.float32(copied.ravel()[i])!r} (0x{int(_bits(copied).ravel()[i]) & 0xFFFFFFFF:08x})"
        )
    allowed = (
        "bit-identity"
        if max_fraction == 0
        else f"the known deviation: at most {max_fraction:.2%} of inputs, <= {max_ulps} ulp"
    )
    pytest.fail(
        f"XLA's float32 {what} on CPU no longer matches brainsim's copy ({_versions()}): "
        f"{bad.size} of {same.size} inputs ({fraction:.3%}) differ, by up to {int(ulps.max())} ulp "
        f"(median {int(np.median(ulps))}); allowed: {allowed}. First differences:\n"
        + "\n".join(lines)
        + "\n"
        + _WHAT_TO_DO,
        pytrace=False,
    )


# The known deviation (see the module docstring), pinned with some headroom: any change to the
# polynomial, the range reduction or an FMA moves far more inputs than these fractions.
_EXACT = np.float32(0.3465)  # |x| below ln(2)/2: n = 0, the range reduction is trivial
_RARE = 1e-4  # inside it: fraction of inputs allowed 1 ulp apart (measured: < 1e-5)
_MAX_DEVIATING = 0.005  # outside it: fraction allowed <= 8 ulp apart (measured: 0.2%, <= 5 ulp)

_jit_exp = jax.jit(jnp.exp)


def _xla_exp(x: np.ndarray) -> np.ndarray:
    return np.asarray(_jit_exp(jnp.asarray(x, dtype=jnp.float32)))


def _check_exp(x, what="exp", max_fraction=_RARE, max_ulps=1) -> None:
    x = np.array(x, dtype=np.float32, order="C")
    _assert_matches(_xla_exp(x), _native.copied_exp_f32(x), {"x": x}, what, max_fraction, max_ulps)


def _every_float_between(lo: float, hi: float, stride: int = 1) -> np.ndarray:
    """Every `stride`-th float32 in [lo, hi] (lo < hi, same sign or through zero), in order."""
    parts = []
    for a, b in ((lo, min(hi, -0.0)), (max(lo, 0.0), hi)):
        if a > b or (a == b == 0.0 and parts):
            continue
        ia, ib = sorted((int(_bits(np.float32(a))), int(_bits(np.float32(b)))))
        parts.append(np.arange(ia, ib + 1, stride, dtype=np.int64).astype(np.int32).view(np.float32))
    return np.concatenate(parts)


def _check_exp_exact_range(x, what="exp") -> None:
    x = np.asarray(x, dtype=np.float32).ravel()
    _check_exp(x[np.abs(x) < _EXACT], what)


def test_exp_exact_range_special_values():
    x = np.float32([0.0, -0.0, 1e-45, -1e-45, 1e-38, -1e-38, 1e-2, -1e-2, 0.1, -0.1, 0.3464, -0.3464])
    _check_exp(
        np.concatenate([x, np.nextafter(x, np.float32(np.inf)), np.nextafter(x, np.float32(-np.inf))]),
        max_fraction=0.0,
        max_ulps=0,
    )


def test_exp_small_arguments():
    """Every 37th float in [-1e-2, 1e-2] (the Taylor-series side of the LIF update), and a grid
    over the exact range."""
    grid = np.linspace(-0.3464, 0.3464, 200_001, dtype=np.float32)
    _check_exp(np.concatenate([_every_float_between(-1e-2, 1e-2, stride=37), grid]))


def test_exp_lif_exponent():
    """x = a * dt (float32 product, as the update forms it): a in [-10, 0] 1/ms, dt in
    [0.001, 1] ms (the products inside the exact range), including x = 0 (refractory)."""
    a = np.concatenate(
        [np.linspace(-10.0, 0.0, 2001, dtype=np.float32), -np.geomspace(1e-6, 10.0, 500, dtype=np.float32)]
    )
    dt = np.concatenate(
        [np.geomspace(1e-3, 1.0, 300, dtype=np.float32), np.float32([0.1, 0.05, 0.025, 0.01, 0.2, 0.5])]
    )
    _check_exp_exact_range(a[:, None] * dt[None, :])


def test_exp_synaptic_decay():
    """x = -dt / tau (float32 division, as `exp(-dt / tau)` forms it): dt in [0.001, 1] ms, tau
    in [0.1, 1000] ms (the quotients inside the exact range)."""
    dt = np.geomspace(1e-3, 1.0, 400, dtype=np.float32)
    tau = np.concatenate(
        [np.geomspace(0.1, 1000.0, 800, dtype=np.float32), np.float32([2.0, 5.0, 10.0, 20.0])]
    )
    _check_exp_exact_range(-dt[:, None] / tau[None, :])


@pytest.mark.parametrize("n", list(range(1, 34)))
def test_exp_every_short_length(n):
    """XLA vectorises `exp`; short arrays exercise its remainder loop (and a 0-d array)."""
    x = np.linspace(-0.34, 0.33, n, dtype=np.float32) + np.float32(0.00123)
    _check_exp(x, max_fraction=1.0)
    _check_exp(x[0], what="exp (0-d)", max_fraction=1.0)


def test_exp_outside_exact_range():
    """The whole clamped range and beyond: equal, except (the known deviation) XLA's subnormal
    results flushed to zero and at most 0.5% of inputs 1 ulp apart."""
    k = np.arange(-128, 129, dtype=np.float64)
    boundaries = ((k + 0.5) * np.log(2.0)).astype(np.float32)
    near = [boundaries]
    for direction in (np.inf, -np.inf):
        step = boundaries
        for _ in range(8):
            step = np.nextafter(step, np.float32(direction))
            near.append(step)
    specials = np.float32(
        [np.inf, -np.inf, np.nan, 88.8, 88.72284, 89.0, 1e30, -87.8, -87.33654, -104.0, -1e30]
    )
    x = np.concatenate(
        [
            _every_float_between(-100.0, 100.0, stride=3001),
            np.linspace(-100.0, 100.0, 400_001, dtype=np.float32),
            *near,
            specials,
        ]
    )
    x = x[~(np.abs(x) < _EXACT)]
    xla, copy = _xla_exp(x), _native.copied_exp_f32(x)
    flushed = (xla == 0.0) & (copy >= 0.0) & (copy < np.finfo(np.float32).tiny)  # XLA: FTZ
    _assert_matches(
        np.where(flushed, copy, xla),
        copy,
        {"x": x},
        f"exp (|x| >= {_EXACT})",
        max_fraction=_MAX_DEVIATING,
        max_ulps=8,
    )


@pytest.mark.parametrize("dt", [0.001, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0])
def test_lif_exponential_euler_update(dt):
    """The LIF membrane update `v e^{a dt} + b (e^{a dt} - 1) / a` (with the Taylor branch for
    |a dt| < 1e-2): where XLA fuses multiply-adds (the series, `v e + b phi`) decides the last
    bit. dt is a compile-time constant, as in the generic step; a dt in the exact range of exp."""
    rng = np.random.default_rng(7)
    n = 200_000
    a_max = min(10.0, 0.3464 / dt)
    a = np.concatenate(
        [-rng.uniform(0.0, a_max, n // 2), -np.geomspace(1e-7, a_max, n // 2 - 100), np.zeros(100)]
    ).astype(np.float32)
    v = rng.uniform(-80.0, -40.0, a.size).astype(np.float32)
    b = rng.uniform(-10.0, 10.0, a.size).astype(np.float32)
    b[-100:] = 0.0  # refractory neurons: a = b = 0
    update = jax.jit(lambda a_, y_, b_: exponential_euler_update(a_, y_, b_, dt))
    expected = np.asarray(update(jnp.asarray(a), jnp.asarray(v), jnp.asarray(b)))
    copied = _native.copied_exponential_euler_f32(v, a, b, dt)
    _assert_matches(
        expected, copied, {"v": v, "a": a, "b": b}, f"exponential-Euler update (dt={dt})", _RARE, 1
    )
