r"""Training losses and regularisers on spike rasters and membrane potentials, in JAX.

Every function here is differentiable (spikes from `bs.run` carry surrogate gradients) and
works under `jax.jit` and `jax.vmap`. Inputs are **time-first**, `(T, batch, n)`, the layout of a
batch of `bs.run` outputs stacked by `jax.lax.scan`; `batch_first=True` takes `(batch, T, n)`,
the layout of `jax.vmap(bs.run)`'s outputs. Times are in ms, rates in Hz.

- `cross_entropy_spike_counts`: softmax cross-entropy with the spike counts as logits.
- `cross_entropy_membrane`: the same on the max or the mean over time of a leaky readout's
  membrane potential.
- `van_rossum_loss`: the squared van Rossum distance between rasters, exact for spikes on the grid
  (the same normalisation as `brainsim.analysis.van_rossum_distance`).
- `rate_regularizer`, `activity_regularizer`: firing-rate targets and spike-count bounds
  (Zenke & Vogels 2021).
- `synapse_hop_regularizer`: `brainsim.hardware.synapse_hop_cost` for a layer's dense weights.

??? cite "References"
    ```bibtex
    @article{vanrossum2001novel,
      author = {van Rossum, Mark C. W.}, title = {A novel spike distance},
      journal = {Neural Computation}, volume = {13}, number = {4}, pages = {751--763}, year = {2001}}
    @article{zenke2021remarkable,
      author = {Zenke, Friedemann and Vogels, Tim P.},
      title = {The remarkable robustness of surrogate gradient learning for instilling complex
               function in spiking neural networks},
      journal = {Neural Computation}, volume = {33}, number = {4}, pages = {899--925}, year = {2021}}
    ```
"""

from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int

from ..hardware import synapse_hop_cost


def _time_first(x: Array, batch_first: bool, name: str) -> Array:
    """`x` as `(T, batch, n)`; raises for a wrong rank or an empty batch."""
    if x.ndim != 3:
        layout = "(batch, T, n)" if batch_first else "(T, batch, n)"
        raise ValueError(f"`{name}` must be 3-D {layout}; got shape {x.shape}.")
    x = jnp.swapaxes(x, 0, 1) if batch_first else x
    if x.shape[1] == 0:
        raise ValueError(
            f"`{name}` has an empty batch (shape {x.shape}, time first); pass at least one sample."
        )
    if x.shape[0] == 0:
        raise ValueError(f"`{name}` has no time steps (shape {x.shape}, time first).")
    return x


def _check_labels(labels: Int[ArrayLike, " batch"], n_classes: int, batch: int | None = None) -> Array:
    """`labels` as an int array, checked to lie in `[0, n_classes)` (and to number `batch`).

    Concrete labels are checked now (`ValueError`); traced ones at run time with
    `equinox.error_if` (the returned array carries the check: use it).
    """
    labels = jnp.asarray(labels)
    if not jnp.issubdtype(labels.dtype, jnp.integer):
        raise TypeError(f"`labels` must be integers (class indices); got dtype {labels.dtype}.")
    if labels.ndim != 1:
        raise ValueError(f"`labels` must be 1-D (batch,); got shape {labels.shape}.")
    if labels.shape[0] == 0:
        raise ValueError("`labels` is empty: pass at least one sample.")
    if batch is not None and labels.shape[0] != batch:
        raise ValueError(f"`labels` has {labels.shape[0]} entries for a batch of {batch}.")
    try:
        concrete = np.asarray(labels)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        bad = (labels < 0) | (labels >= n_classes)
        return eqx.error_if(labels, jnp.any(bad), f"`labels` must be in [0, {n_classes}).")
    bad = (concrete < 0) | (concrete >= n_classes)
    if np.any(bad):
        raise ValueError(
            f"`labels` must be in [0, {n_classes}) for {n_classes} classes (output units); "
            f"got {concrete[bad][:5].tolist()} at positions {np.flatnonzero(bad)[:5].tolist()}."
        )
    return labels


def _softmax_cross_entropy(logits: Float[Array, "batch k"], labels: Int[Array, " m"]) -> Float[Array, ""]:
    labels = _check_labels(labels, logits.shape[1], logits.shape[0])
    log_p = jax.nn.log_softmax(logits, axis=1)
    return -jnp.mean(jnp.take_along_axis(log_p, labels[:, None], axis=1))


def cross_entropy_spike_counts(
    spikes: Float[Array, "_ _ k"], labels: Int[ArrayLike, " batch"], *, batch_first: bool = False
) -> Float[Array, ""]:
    r"""Softmax cross-entropy with the spike counts of the `k` output neurons as logits.

    $$L = -\frac{1}{B}\sum_b \log \frac{e^{c_{b,y_b}}}{\sum_i e^{c_{b,i}}},
    \qquad c_{b,i} = \sum_t s_{t,b,i}.$$

    **Arguments:**
    - `spikes`: `(T, batch, k)` 0/1 spikes (floating point, surrogate gradients pass), or
      `(batch, T, k)` with `batch_first=True`.
    - `labels`: `(batch,)` integer classes in `[0, k)`.

    **Returns:** scalar, nats, averaged over the batch.
    """
    spikes = _time_first(spikes, batch_first, "spikes")
    return _softmax_cross_entropy(jnp.sum(spikes, axis=0), labels)


def cross_entropy_membrane(
    v: Float[Array, "_ _ k"],
    labels: Int[ArrayLike, " batch"],
    *,
    reduce: Literal["max", "mean"] = "max",
    batch_first: bool = False,
) -> Float[Array, ""]:
    r"""Softmax cross-entropy on a non-spiking (leaky) readout's membrane potential over time.

    $$L = -\frac{1}{B}\sum_b \log \operatorname{softmax}(u_b)_{y_b}, \qquad
    u_{b,i} = \max_t v_{t,b,i} \;\text{ or }\; \frac{1}{T}\sum_t v_{t,b,i}.$$

    **Arguments:**
    - `v`: `(T, batch, k)` membrane potentials, mV (used as logits: scale the readout so that
      differences of a few mV separate the classes), or `(batch, T, k)` with `batch_first=True`.
    - `labels`: `(batch,)` integer classes in `[0, k)`.
    - `reduce`: `"max"` (Zenke & Vogels 2021's max-over-time readout; the gradient flows through
      the time step of the maximum) or `"mean"`.

    **Returns:** scalar, nats, averaged over the batch.
    """
    v = _time_first(v, batch_first, "v")
    if reduce == "max":
        logits = jnp.max(v, axis=0)
    elif reduce == "mean":
        logits = jnp.mean(v, axis=0)
    else:
        raise ValueError(f'`reduce` must be "max" or "mean"; got {reduce!r}.')
    return _softmax_cross_entropy(logits, labels)


def exponential_filter(spikes: Float[Array, "T ..."], *, tau: float, dt: float) -> Float[Array, "T ..."]:
    r"""The causal exponential trace of a raster on its time grid, by `jax.lax.scan`:
    $f_t = e^{-\Delta t/\tau} f_{t-1} + s_t$, the value just after the spikes of step $t$.

    **Arguments:** `spikes` `(T, ...)`; `tau` ms, > 0; `dt` ms, > 0.

    **Returns:** `(T, ...)`, same dtype.
    """
    decay = jnp.exp(jnp.asarray(-dt / tau, spikes.dtype))

    def body(trace, s):
        trace = decay * trace + s
        return trace, trace

    _, traces = jax.lax.scan(body, jnp.zeros_like(spikes[0]), spikes)
    return traces


def _require_positive_float(name: str, value: float, unit: str) -> None:
    if not (isinstance(value, int | float) and value > 0):
        raise ValueError(f"`{name}` must be a Python number > 0 {unit}; got {value!r}.")


def van_rossum_loss(
    spikes: Float[Array, "_ _ n"],
    target_spikes: Float[Array, "_ _ n"],
    *,
    tau: float,
    dt: float,
    batch_first: bool = False,
) -> Float[Array, ""]:
    r"""Mean squared van Rossum distance between two rasters, per neuron and sample.

    With $f$ and $g$ the causal exponential traces ($\tau$) of the two trains and $d_k$ their
    difference just after step $k$ (time $k\,\Delta t$), $d$ decays freely between steps, so

    $$D^2 = \frac{1}{\tau}\int_0^\infty (f - g)^2\,dt
    = \frac{1 - e^{-2\Delta t/\tau}}{2}\sum_{k=0}^{T-2} d_k^2 + \frac{d_{T-1}^2}{2},$$

    exact for spikes at the grid times (the last term is the tail after the raster ends). This is
    the normalisation of `brainsim.analysis.van_rossum_distance` ($D^2 = 1 - e^{-\delta/\tau}$
    for two single spikes $\delta$ ms apart; half the spike count against an empty train). The
    trace is a `lax.scan`, so the loss is differentiable in both rasters.

    **Arguments:**
    - `spikes`, `target_spikes`: `(T, batch, n)` rasters of the same shape (or `(batch, T, n)`
      with `batch_first=True`); a nonzero value $s$ is a spike of weight $s$ at that step.
    - `tau`: filter time constant, ms, > 0; `dt`: time step, ms, > 0.

    **Returns:** scalar, dimensionless: $D^2$ averaged over the batch and the neurons.
    """
    _require_positive_float("tau", tau, "ms")
    _require_positive_float("dt", dt, "ms")
    spikes = _time_first(spikes, batch_first, "spikes")
    target_spikes = _time_first(target_spikes, batch_first, "target_spikes")
    if spikes.shape != target_spikes.shape:
        raise ValueError(
            f"`spikes` and `target_spikes` must have the same shape; got {spikes.shape} and "
            f"{target_spikes.shape}."
        )
    d = exponential_filter(spikes - target_spikes, tau=tau, dt=dt)  # linear: trace of the difference
    step_weight = jnp.asarray(0.5 * -np.expm1(-2.0 * dt / tau), d.dtype)
    squared = step_weight * jnp.sum(d[:-1] ** 2, axis=0) + 0.5 * d[-1] ** 2  # (batch, n)
    return jnp.mean(squared)


def _rates_hz(spikes: Array, dt: float) -> Array:
    """Per sample and neuron, `(batch, n)`, Hz: spike count / (T dt), with dt in ms."""
    return jnp.sum(spikes, axis=0) / (spikes.shape[0] * dt * 1e-3)


def rate_regularizer(
    spikes: Float[Array, "_ _ n"],
    target_hz: float | Float[ArrayLike, " n"],
    *,
    dt: float,
    per_neuron: bool = True,
    batch_first: bool = False,
) -> Float[Array, ""]:
    r"""Squared deviation of firing rates from a target, Hz².

    $$R = \frac{1}{Bn}\sum_{b,i} (r_{b,i} - r^\ast_i)^2,
    \qquad r_{b,i} = \frac{1000}{T\,\Delta t}\sum_t s_{t,b,i}\ \text{Hz}$$

    with `per_neuron=True`; with `per_neuron=False` the population mean rate of each sample,
    $\bar r_b = \frac1n\sum_i r_{b,i}$, is held to a scalar target: $\frac1B\sum_b(\bar r_b - r^\ast)^2$.

    **Arguments:**
    - `spikes`: `(T, batch, n)` (or `(batch, T, n)` with `batch_first=True`).
    - `target_hz`: the target rate, Hz, >= 0: a scalar, or `(n,)` per neuron (`per_neuron=True`).
    - `dt`: the time step, ms, > 0.

    **Returns:** scalar, Hz².
    """
    _require_positive_float("dt", dt, "ms")
    spikes = _time_first(spikes, batch_first, "spikes")
    target = jnp.asarray(target_hz, spikes.dtype)
    if target.ndim > 1 or (target.ndim == 1 and (target.shape[0] != spikes.shape[2] or not per_neuron)):
        raise ValueError(
            f"`target_hz` must be a scalar, or (n,) = ({spikes.shape[2]},) with `per_neuron=True`; "
            f"got shape {target.shape}."
        )
    rates = _rates_hz(spikes, dt)  # (batch, n)
    if not per_neuron:
        rates = jnp.mean(rates, axis=1)
    elif target.ndim == 1:
        target = target[None, :]
    return jnp.mean((rates - target) ** 2)


def activity_regularizer(
    spikes: Float[Array, "_ _ n"],
    *,
    lower: float | None = None,
    upper: float | None = 0.0,
    order: Literal[1, 2] = 2,
    batch_first: bool = False,
) -> Float[Array, ""]:
    r"""Penalty on per-neuron spike counts outside `[lower, upper]`.

    $$R = \frac{1}{Bn}\sum_{b,i}
    \Big([\,\nu_{\text{lower}} - c_{b,i}]_+^p + [\,c_{b,i} - \nu_{\text{upper}}]_+^p\Big),
    \qquad c_{b,i} = \sum_t s_{t,b,i},$$

    a per-neuron form of the lower and upper spike-count bounds of Zenke & Vogels 2021 (their
    upper bound is on the population mean: apply this to `spikes.mean(-1, keepdims=True)` for
    that). The defaults (`lower=None`, `upper=0`) give the plain L1 (`order=1`) or L2
    (`order=2`) penalty on spike counts, $\frac{1}{Bn}\sum c^p$.

    **Arguments:**
    - `spikes`: `(T, batch, n)` (or `(batch, T, n)` with `batch_first=True`).
    - `lower`, `upper`: bounds on the spike count of each neuron in each sample, spikes per
      sample, >= 0 (`lower` <= `upper`); `None` switches a bound off.
    - `order`: $p$, 1 or 2.

    **Returns:** scalar, spikes^p.
    """
    if order not in (1, 2):
        raise ValueError(f"`order` must be 1 or 2; got {order!r}.")
    for name, bound in (("lower", lower), ("upper", upper)):
        if bound is not None and not bound >= 0:
            raise ValueError(f"`{name}` must be >= 0 spikes or None; got {bound!r}.")
    if lower is not None and upper is not None and lower > upper:
        raise ValueError(f"`lower` must be <= `upper`; got {lower!r} and {upper!r}.")
    spikes = _time_first(spikes, batch_first, "spikes")
    counts = jnp.sum(spikes, axis=0)
    penalty = jnp.zeros_like(counts)
    if lower is not None:
        penalty = penalty + jnp.maximum(jnp.asarray(lower, counts.dtype) - counts, 0.0) ** order
    if upper is not None:
        penalty = penalty + jnp.maximum(counts - jnp.asarray(upper, counts.dtype), 0.0) ** order
    return jnp.mean(penalty)


def _as_assignment(placement: Array, n: int, n_cores: int, name: str) -> Array:
    """Integer cores `(n,)` -> one-hot `(n, c)`; a soft assignment `(n, c)` passes through."""
    if jnp.issubdtype(placement.dtype, jnp.integer):
        if placement.shape != (n,):
            raise ValueError(f"`{name}` as integer cores must have shape ({n},); got {placement.shape}.")
        try:
            cores = np.asarray(placement)
        except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
            cores = None
        if cores is not None and np.any((cores < 0) | (cores >= n_cores)):
            raise ValueError(
                f"`{name}` cores must be in [0, {n_cores}) for a ({n_cores}, {n_cores}) `distance`."
            )
        return jax.nn.one_hot(placement, n_cores)
    if placement.shape != (n, n_cores):
        raise ValueError(
            f"`{name}` as a soft assignment must have shape ({n}, {n_cores}); got {placement.shape}."
        )
    return placement


def synapse_hop_regularizer(
    weights: Float[Array, "n_pre n_post"],
    placement_pre: Int[Array, " n_pre"] | Float[Array, "n_pre c"],
    placement_post: Int[Array, " n_post"] | Float[Array, "n_post c"],
    rates_pre: Float[Array, " n_pre"],
    distance: Float[Array, "c c"],
) -> Float[Array, ""]:
    r"""`brainsim.hardware.synapse_hop_cost` of a dense layer: a mapping-aware regulariser.

    $$R = \sum_{i,j} |W_{ij}|\; r_i\; \mathbb E\big[d(\mathrm{core}(i), \mathrm{core}(j))\big],$$

    the weight-scaled spike-hops per second that the layer's synapses would cost on the chip. Its
    gradient in the weights is $\operatorname{sign}(W_{ij})\, r_i\, \mathbb E[d]$: descent shrinks
    the weights of synapses between distant cores first and leaves synapses within a core
    ($d = 0$) alone. Differentiable in `weights`, in soft placements and in `rates_pre` (e.g.
    a `RunResult`'s rates); $|W|$ has the subgradient 0 at exactly 0.

    **Arguments:**
    - `weights`: `(n_pre, n_post)` dense weights (any unit; the result is in that unit).
    - `placement_pre`, `placement_post`: the core of each neuron, either integer cores `(n,)`
      (a fixed mapping, e.g. from `brainsim.hardware`) or soft assignments `(n, c)` whose rows lie
      on the probability simplex (e.g. `jax.nn.softmax(logits)`).
    - `rates_pre`: `(n_pre,)` presynaptic rates, Hz.
    - `distance`: `(c, c)` hop distances between cores (`brainsim.hardware.core_distance(chip)`).

    **Returns:** scalar, Hz x hops x weight unit.
    """
    n_pre, n_post = weights.shape
    n_cores = distance.shape[0]
    p_pre = _as_assignment(placement_pre, n_pre, n_cores, "placement_pre").astype(weights.dtype)
    p_post = _as_assignment(placement_post, n_post, n_cores, "placement_post").astype(weights.dtype)
    if rates_pre.shape != (n_pre,):
        raise ValueError(f"`rates_pre` must have shape ({n_pre},); got {rates_pre.shape}.")
    assignment = jnp.concatenate([p_pre, p_post])  # pre neurons first, then post neurons
    pre = jnp.repeat(jnp.arange(n_pre), n_post)
    post = n_pre + jnp.tile(jnp.arange(n_post), n_pre)
    rates = jnp.concatenate([rates_pre.astype(weights.dtype), jnp.zeros(n_post, weights.dtype)])
    return synapse_hop_cost(weights.reshape(-1), assignment, pre, post, rates, distance.astype(weights.dtype))
