"""Loader for brainsim's native CPU kernels (`jax.ffi`).

The shared libraries `_event_kernels*.so` (event propagation, from `event_kernels.cc`),
`_network_kernels*.so` (the fused LIF network step of `brainsim.fused`, from
`network_kernels.cc`) and `_train_kernels*.so` (event products and the LIF layer of the training
fast path, from `train_kernels.cc`) are compiled by the package's build (`setup.py`) at install time. Each is
loaded lazily, the first time one of its kernels is requested: importing brainsim never touches
them. Their FFI targets are registered once, for `platform="cpu"`.

When the library is missing (no compiler at install time, `BRAINSIM_DISABLE_NATIVE=1`, a failed
load), `available()` returns `False`, callers take the pure-JAX reference path, and exactly one
`RuntimeWarning` says so:
`brainsim: native CPU kernels unavailable (<reason>); using the pure-JAX reference path.`

The fused kernel copies XLA's float32 `exp` and its fused multiply-add choices
(`xla_math.h`); `network_isa`, `copied_exp_f32` and `copied_exponential_euler_f32` evaluate that
copy directly (through ctypes, no FFI), for the canary test `tests/test_fused_canary.py`.
"""

import ctypes
import importlib.machinery
import os
import pathlib
import threading
import warnings

import jax
import numpy as np

__all__ = [
    "available",
    "available_cpus",
    "copied_exp_f32",
    "copied_exponential_euler_f32",
    "csr_event_matvec_call",
    "event_matmul_call",
    "event_matmul_t_call",
    "ell_event_matvec_call",
    "lif_layer_backward_call",
    "lif_layer_forward_call",
    "network_isa",
    "procedural_event_matvec_call",
    "procedural_row_sums_call",
    "request",
    "unavailable_reason",
]

_EVENT_KERNELS = "_event_kernels"
NETWORK_KERNELS = "_network_kernels"
"""Library stem of the fused network kernel (`network_kernels.cc`, used by `brainsim.fused`)."""
TRAIN_KERNELS = "_train_kernels"
"""Library stem of the training kernels (`train_kernels.cc`: event products and the LIF layer of
`brainsim.train`'s fast path)."""
_LIBRARIES = {
    # library stem -> {FFI target name: exported handler symbol}
    _EVENT_KERNELS: {
        "brainsim_csr_event_matvec_f32": "BrainsimCsrEventMatvecF32",
        "brainsim_csr_event_matvec_f64": "BrainsimCsrEventMatvecF64",
        "brainsim_ell_event_matvec_f32": "BrainsimEllEventMatvecF32",
        "brainsim_ell_event_matvec_f64": "BrainsimEllEventMatvecF64",
        "brainsim_procedural_event_matvec_f32": "BrainsimProceduralEventMatvecF32",
        "brainsim_procedural_event_matvec_f64": "BrainsimProceduralEventMatvecF64",
        "brainsim_procedural_row_sums_f32": "BrainsimProceduralRowSumsF32",
        "brainsim_procedural_row_sums_f64": "BrainsimProceduralRowSumsF64",
    },
    NETWORK_KERNELS: {
        "brainsim_lif_network_steps_f32": "BrainsimLifNetworkStepsF32",
    },
    TRAIN_KERNELS: {
        f"brainsim_{name}_{suffix}": f"Brainsim{symbol}{suffix.upper()}"
        for name, symbol in [
            ("event_matmul", "EventMatmul"),
            ("event_matmul_t", "EventMatmulT"),
            ("lif_layer_forward", "LifLayerForward"),
            ("lif_layer_backward", "LifLayerBackward"),
        ]
        for suffix in ("f32", "f64")
    },
}

_ISAS = ("baseline", "avx2", "avx512")  # the network library's instruction sets (isa_dispatch.h)

_lock = threading.RLock()
_states: dict[str, dict] = {}
_probes: list[ctypes.CDLL] = []  # the network library, loaded once for the arithmetic probes
_registered: set[str] = set()  # FFI targets already registered in this process (never twice)
_warned: list[bool] = [False]  # one warning per process, whichever kernel was requested first


def _find_library(stem: str = _EVENT_KERNELS) -> pathlib.Path:
    """Path of a compiled library next to this file; raises `OSError` if there is none."""
    here = pathlib.Path(__file__).resolve().parent
    for suffix in (*importlib.machinery.EXTENSION_SUFFIXES, ".so"):
        candidate = here / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    raise OSError(f"no compiled `{stem}` library in {here} (built without a C++ compiler?)")


def _load_library(stem: str = _EVENT_KERNELS) -> ctypes.CDLL:
    """Load one shared library; raises `OSError` when it is missing or disabled."""
    if os.environ.get("BRAINSIM_DISABLE_NATIVE", "") not in ("", "0"):
        raise OSError("disabled by BRAINSIM_DISABLE_NATIVE")
    return ctypes.cdll.LoadLibrary(str(_find_library(stem)))


def _ensure_loaded(stem: str) -> dict:
    with _lock:
        state = _states.get(stem)
        if state is not None:
            return state
        try:
            library = _load_library(stem)
            for target, symbol in _LIBRARIES[stem].items():
                handler = getattr(library, symbol)
                if target not in _registered:
                    capsule = jax.ffi.pycapsule(handler)
                    jax.ffi.register_ffi_target(target, capsule, platform="cpu")
                    _registered.add(target)
        except (OSError, AttributeError, RuntimeError, ValueError) as error:
            state = {"ok": False, "reason": str(error) or type(error).__name__}
        else:
            state = {"ok": True, "reason": None}
        _states[stem] = state
        return state


def _reset_for_tests() -> None:
    """Forget the load attempts and the warning (tests only; FFI registrations are kept)."""
    with _lock:
        _states.clear()
        _warned[0] = False


def available(library: str = _EVENT_KERNELS) -> bool:
    """Whether a native CPU library is loaded and registered. Loads it on first call; silent."""
    return _ensure_loaded(library)["ok"]


def unavailable_reason(library: str = _EVENT_KERNELS) -> str | None:
    """Why a library is unavailable, or `None` when it is available."""
    return _ensure_loaded(library)["reason"]


def request(library: str = _EVENT_KERNELS) -> bool:
    """Like `available()`, but warns once (per process) when the kernels are unavailable.

    Call this where a kernel is about to be used, so the warning names the fallback actually taken.
    """
    state = _ensure_loaded(library)
    if state["ok"]:
        return True
    with _lock:
        if not _warned[0]:
            _warned[0] = True
            warnings.warn(
                f"brainsim: native CPU kernels unavailable ({state['reason']}); "
                "using the pure-JAX reference path.",
                RuntimeWarning,
                stacklevel=3,
            )
    return False


def _suffix(dtype) -> str:
    dtype = np.dtype(dtype)
    if dtype == np.float32:
        return "f32"
    if dtype == np.float64:
        return "f64"
    raise TypeError(f"native kernels support float32 and float64; got {dtype}.")


def _batched(kernel_input, *shared):
    """`shared` operands with leading size-1 dims matching `kernel_input`'s batch dims (the
    kernels broadcast them: the connectivity is read once per batch element, never copied)."""
    lead = (1,) * (kernel_input.ndim - 1)
    return [x.reshape(*lead, *x.shape) for x in shared]


def csr_event_matvec_call(indptr, indices, weights, spikes, n_post: int):
    """`y = spikes @ W` for CSR `W` by presynaptic neuron, through the native kernel.

    Operands must already be `int32` (indptr, indices) and one float dtype (weights, spikes);
    `weights` is 0-d (homogeneous) or `(nnz,)`. Returns shape `spikes.shape[:-1] + (n_post,)`.
    """
    target = f"brainsim_csr_event_matvec_{_suffix(spikes.dtype)}"
    out = jax.ShapeDtypeStruct((*spikes.shape[:-1], n_post), spikes.dtype)
    call = jax.ffi.ffi_call(target, out, vmap_method="expand_dims")
    return call(*_batched(spikes, indptr, indices, weights), spikes)


def ell_event_matvec_call(targets, weights, spikes, n_post: int):
    """`y = spikes @ W` for fixed out-degree (ELL) `W`, through the native kernel.

    `targets` is `int32 (n_pre, k)` (a target equal to `n_post` is padding), `weights` 0-d or
    `(n_pre, k)` of the spikes' float dtype. Returns shape `spikes.shape[:-1] + (n_post,)`.
    """
    target = f"brainsim_ell_event_matvec_{_suffix(spikes.dtype)}"
    out = jax.ShapeDtypeStruct((*spikes.shape[:-1], n_post), spikes.dtype)
    call = jax.ffi.ffi_call(target, out, vmap_method="expand_dims")
    return call(*_batched(spikes, targets, weights), spikes)


def procedural_event_matvec_call(key_words, counts, weight, spikes, n_post: int):
    """`y = spikes @ W` for homogeneous procedural `W` (`brainsim.ops.Procedural`), regenerated
    by the native kernel. `key_words` uint32 `(2,)`, `counts` int32 `(n_pre,)` or `(1,)`,
    `weight` 0-d of the spikes' float dtype. Returns shape `spikes.shape[:-1] + (n_post,)`."""
    target = f"brainsim_procedural_event_matvec_{_suffix(spikes.dtype)}"
    out = jax.ShapeDtypeStruct((*spikes.shape[:-1], n_post), spikes.dtype)
    call = jax.ffi.ffi_call(target, out, vmap_method="expand_dims")
    return call(*_batched(spikes, key_words, counts, weight), spikes)


def procedural_row_sums_call(key_words, counts, g, n_pre: int):
    """`r_i = sum_c g[t_ic]` over the synapses of every row of a procedural `W` (`W @ g` with
    unit weights), through the native kernel. Returns shape `g.shape[:-1] + (n_pre,)`."""
    target = f"brainsim_procedural_row_sums_{_suffix(g.dtype)}"
    out = jax.ShapeDtypeStruct((*g.shape[:-1], n_pre), g.dtype)
    call = jax.ffi.ffi_call(target, out, vmap_method="expand_dims")
    return call(*_batched(g, key_words, counts), g)


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def event_matmul_call(x, w):
    """`x @ w` for 2-d `x` `(m, k)` that is mostly zeros (spikes), `w` `(k, n)`, one float dtype,
    through the native kernel: only the nonzero entries of `x` are read into the product."""
    out = jax.ShapeDtypeStruct((x.shape[0], w.shape[1]), x.dtype)
    call = jax.ffi.ffi_call(f"brainsim_event_matmul_{_suffix(x.dtype)}", out, vmap_method="sequential")
    return call(x, w, threads=np.int64(available_cpus()))


def event_matmul_t_call(x, g):
    """`x.T @ g` for 2-d `x` `(m, k)` that is mostly zeros, `g` `(m, n)`: the weight gradient of
    `event_matmul_call`, through the native kernel."""
    out = jax.ShapeDtypeStruct((x.shape[1], g.shape[1]), g.dtype)
    call = jax.ffi.ffi_call(f"brainsim_event_matmul_t_{_suffix(x.dtype)}", out, vmap_method="sequential")
    return call(x, g, threads=np.int64(available_cpus()))


def lif_layer_forward_call(params, drive, recurrent_weights, v0, refractory0):
    """The native LIF layer's steps (`train_kernels.cc`): `params` `(8,)` = (E, phi, g_L E_L, C_m,
    V_th, V_r, t_ref, dt), `drive` `(T, batch, n)`, `recurrent_weights` `(n, n)` or `(0, 0)`,
    initial `v0` and `refractory0` `(batch, n)`. Returns `(spikes, v_before_reset, flags)`, each
    `(T, batch, n)`; `flags` (uint8) has bit 0 set where the neuron was free and bit 1 where it
    spiked."""
    shape = drive.shape
    out = (
        jax.ShapeDtypeStruct(shape, drive.dtype),
        jax.ShapeDtypeStruct(shape, drive.dtype),
        jax.ShapeDtypeStruct(shape, np.uint8),
    )
    target = f"brainsim_lif_layer_forward_{_suffix(drive.dtype)}"
    call = jax.ffi.ffi_call(target, out, vmap_method="sequential")
    return call(params, drive, recurrent_weights, v0, refractory0, threads=np.int64(available_cpus()))


def lif_layer_backward_call(params, recurrent_weights_t, g_spikes, flags, sigma):
    """The reverse pass of `lif_layer_forward_call`: the cotangents `(g_drive, g_recurrent)` of
    the drive `(T, batch, n)` and of the recurrent weights `(n, n)` (`(0, 0)` without them),
    from the spikes' cotangent, the forward pass's `flags` and the surrogate derivatives `sigma`
    of every step."""
    out = (
        jax.ShapeDtypeStruct(g_spikes.shape, g_spikes.dtype),
        jax.ShapeDtypeStruct(recurrent_weights_t.shape, g_spikes.dtype),
    )
    target = f"brainsim_lif_layer_backward_{_suffix(g_spikes.dtype)}"
    call = jax.ffi.ffi_call(target, out, vmap_method="sequential")
    return call(params, recurrent_weights_t, g_spikes, flags, sigma, threads=np.int64(available_cpus()))


def _probe_library() -> ctypes.CDLL:
    """The fused network library with its probe signatures; raises `OSError` when unavailable."""
    with _lock:
        if not _probes:
            library = _load_library(NETWORK_KERNELS)
            f32 = ctypes.POINTER(ctypes.c_float)
            library.BrainsimNetworkIsa.restype = ctypes.c_int
            library.BrainsimNetworkIsa.argtypes = []
            library.BrainsimXlaExpF32.restype = None
            library.BrainsimXlaExpF32.argtypes = [f32, f32, ctypes.c_int64]
            library.BrainsimExponentialEulerF32.restype = None
            library.BrainsimExponentialEulerF32.argtypes = [
                f32,
                f32,
                f32,
                ctypes.c_float,
                f32,
                ctypes.c_int64,
            ]
            _probes.append(library)
        return _probes[0]


def _f32_pointer(x: np.ndarray):
    return x.ctypes.data_as(ctypes.POINTER(ctypes.c_float))


def network_isa() -> str:
    """The instruction set of the fused kernel's arithmetic: `"baseline"` (no FMA on x86-64, FMA
    on AArch64), `"avx2"` or `"avx512"` (both with FMA); `BRAINSIM_NATIVE_ISA` lowers it.
    Raises `OSError` when the library is unavailable."""
    return _ISAS[_probe_library().BrainsimNetworkIsa()]


def copied_exp_f32(x) -> np.ndarray:
    """`exp(x)` elementwise in float32, as the fused kernel computes it (its copy of XLA's
    float32 `exp`, with the instruction set `network_isa()` names). Raises `OSError` when the
    library is unavailable."""
    x = np.array(x, dtype=np.float32, order="C")
    out = np.empty_like(x)
    _probe_library().BrainsimXlaExpF32(_f32_pointer(x), _f32_pointer(out), x.size)
    return out


def copied_exponential_euler_f32(y, a, b, dt: float) -> np.ndarray:
    """`y e^{a dt} + b (e^{a dt} - 1) / a` elementwise in float32, as the fused kernel computes
    the LIF membrane update (`brainsim.integrate.exponential_euler.exponential_euler_update` with
    XLA's `exp` and fused multiply-adds). `y`, `a`, `b` are broadcast together; `dt` is a scalar.
    Raises `OSError` when the library is unavailable."""
    y, a, b = (np.array(v, dtype=np.float32, order="C") for v in np.broadcast_arrays(y, a, b))
    out = np.empty_like(y)
    _probe_library().BrainsimExponentialEulerF32(
        _f32_pointer(y), _f32_pointer(a), _f32_pointer(b), float(dt), _f32_pointer(out), y.size
    )
    return out
