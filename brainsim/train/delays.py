r"""Learnable per-synapse delays: an interpolating delay line, differentiable in the delays.

Synapse $(i \to j)$ has a real delay $d_{ij} \in [0, D]$ in steps ($D$ = `max_delay_steps`;
multiply by `dt` for ms). The presynaptic signal is read from a ring buffer that holds its last
$D + 1$ steps, $x_t, x_{t-1}, \dots, x_{t-D}$, through a kernel over the lags $k = 0..D$:

$$\text{drive}_{t,j} = \sum_i w_{ij} \sum_{k=0}^{D} K_k(d_{ij})\, x_{t-k,i}.$$

- `kernel="linear"` (a linearly interpolating delay line): with $\ell = \lfloor d \rfloor$ and
  $f = d - \ell$, $K_\ell = 1 - f$, $K_{\ell+1} = f$, all other lags 0, so
  $\partial\,\text{drive}_{t,j} / \partial d_{ij} = w_{ij}\,(x_{t-\ell-1,i} - x_{t-\ell,i})$
  (the right derivative at integer $d$, so a delay that starts on the grid still moves). An
  integer delay reads exactly one lag: the output is the input shifted by $d$ steps.
- `kernel="gaussian"` (as DCLS, Hammouamri et al. 2024): $K_k \propto
  \exp(-(k - d)^2 / 2\sigma^2)$, normalised over $k = 0..D$; smooth in $d$, and it sees spikes
  $\sim\sigma$ steps away. Anneal `sigma` towards 0 during training (`eqx.tree_at`; it is a
  static field, so each new value compiles once), then round.

For simulation, `round_delays()` rounds each delay to the nearest step (halves to even) and
switches to the linear kernel, which then reads exactly the rounded lag; `delay_steps_for(conn)`
gives those integers in a connectivity format's synapse layout for `Projection(...,
delay_steps=...)`. Delays follow the `Network`'s convention: input row $t$ through a delay of $d$
steps acts in step $t + d$, as a spike emitted in step $t$ through a projection with
`delay_steps = d` (a `Network` needs $d \ge 1$; the layers' input rows act in the step they are
given, $d = 0$).

Memory: the ring buffer holds $D + 1$ steps of the presynaptic signal, `(D + 1, batch, n_in)`,
whatever `T`. Work per step is one `(batch, (D + 1) n_in) @ ((D + 1) n_in, n_out)` product.
Plain BPTT keeps each step's ordered ring for the backward pass, $(D + 1)$ times the input;
`checkpoint_every` (of the wrapped layer) bounds that as for the layers (`checkpointed_scan`).

??? cite "References"
    ```bibtex
    @inproceedings{hammouamri2024learning,
      author = {Hammouamri, Ilyass and Khalfaoui-Hassani, Ismail and Masquelier, Timoth{\'e}e},
      title = {Learning Delays in Spiking Neural Networks using Dilated Convolutions with
               Learnable Spacings},
      booktitle = {International Conference on Learning Representations (ICLR)}, year = {2024}}
    ```
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int

from .._validation import require_floating, require_in_range, require_positive, require_positive_int
from ..ops import AbstractConnectivity, stored_synapses
from .bptt import checkpointed_scan
from .layers import AbstractLayer, RecurrentSpikingLayer, SequenceIn, SequenceOut, check_sequence

Ring = Float[Array, "slots batch n_in"]


class LearnableDelays(eqx.Module):
    r"""Real-valued per-synapse delays read through an interpolating delay line (see the module
    docstring for the kernel and its gradient).

    **Fields:**
    - `delays`: $d_{ij}$, `(n_in, n_out)`, steps, in `[0, max_delay_steps]` (floating: the
      optimiser trains them). The forward pass clips them to that range (a delay pushed outside
      acts as the nearest end and gets no gradient).
    - `max_delay_steps`: $D$, int >= 1; the ring buffer has $D + 1$ slots.
    - `kernel`: `"linear"` (default) or `"gaussian"`.
    - `sigma`: the Gaussian kernel's width, steps, > 0 (unused by `"linear"`).
    """

    delays: Float[Array, "n_in n_out"]
    max_delay_steps: int = eqx.field(static=True)
    kernel: str = eqx.field(static=True, default="linear")  # "linear" or "gaussian", checked below
    sigma: float = eqx.field(static=True, default=1.0)

    def __check_init__(self):
        if jnp.ndim(self.delays) != 2:
            raise ValueError(f"`delays` must have shape (n_in, n_out); got {jnp.shape(self.delays)}.")
        require_floating("delays", self.delays)
        require_positive_int("max_delay_steps", self.max_delay_steps)
        require_in_range("delays", self.delays, 0.0, float(self.max_delay_steps), "steps (`max_delay_steps`)")
        if self.kernel not in ("linear", "gaussian"):
            raise ValueError(f'`kernel` must be "linear" or "gaussian"; got {self.kernel!r}.')
        require_positive("sigma", self.sigma, "steps")

    @property
    def n_slots(self) -> int:
        """Ring-buffer length, $D + 1$ steps."""
        return self.max_delay_steps + 1

    def lag_weights(self) -> Float[Array, "slots n_in n_out"]:
        """$K_k(d_{ij})$ for the lags $k = 0..D$ (each synapse's weights sum to 1)."""
        top = self.max_delay_steps
        d = jnp.where(self.delays < 0, 0, jnp.where(self.delays > top, top, self.delays))[None]
        lags = jnp.arange(self.n_slots, dtype=d.dtype)[:, None, None]
        if self.kernel == "linear":
            lower = jax.lax.stop_gradient(jnp.floor(d))
            frac = d - lower
            return jnp.where(lags == lower, 1 - frac, 0) + jnp.where(lags == lower + 1, frac, 0)
        return jax.nn.softmax(-0.5 * ((lags - d) / self.sigma) ** 2, axis=0)

    def synaptic_kernel(self, weights: Float[Array, "n_in n_out"]) -> Float[Array, "slots_n_in n_out"]:
        r"""$w_{ij} K_k(d_{ij})$, reshaped to `((D + 1) * n_in, n_out)` (lag-major) for one product
        per step with the ordered ring (`read`)."""
        if jnp.shape(weights) != jnp.shape(self.delays):
            raise ValueError(
                f"`weights` must have the delays' shape {jnp.shape(self.delays)}; got {jnp.shape(weights)}."
            )
        kernel = self.lag_weights().astype(weights.dtype) * weights[None]
        return kernel.reshape(self.n_slots * weights.shape[0], weights.shape[1])

    def initial_ring(self, batch: int, n_in: int, dtype) -> Ring:
        """An empty ring buffer (no input before step 0), `(D + 1, batch, n_in)`."""
        return jnp.zeros((self.n_slots, batch, n_in), dtype)

    def push(self, ring: Ring, x: Float[Array, "batch n_in"], step: Int[Array, ""]) -> Ring:
        """The ring with step `step`'s input written into slot `step mod (D + 1)`."""
        return ring.at[step % self.n_slots].set(x.astype(ring.dtype))

    def read(
        self, ring: Ring, step: Int[Array, ""], kernel: Float[Array, "slots_n_in n_out"]
    ) -> Float[Array, "batch n_out"]:
        """The delayed, weighted drive of step `step` (after `push`) through `synaptic_kernel`."""
        ordered = ring[(step - jnp.arange(self.n_slots)) % self.n_slots]  # lag k -> x_{step - k}
        batch = ring.shape[1]
        return jnp.swapaxes(ordered, 0, 1).reshape(batch, -1) @ kernel

    def __call__(
        self, x: ArrayLike, weights: Float[ArrayLike, "n_in n_out"], *, batch_first: bool = False
    ) -> Float[Array, "a b n_out"]:
        r"""The delay line on a whole sequence: `(T, batch, n_in)` (or `(batch, T, n_in)` with
        `batch_first`) to the drive $\text{drive}_{t,j}$ in the same layout, `n_out` features
        (in the weights' unit)."""
        weights = jnp.asarray(weights)
        x = check_sequence(x, self.delays.shape[0], batch_first, type(self).__name__)
        kernel = self.synaptic_kernel(weights.astype(x.dtype))

        def body(ring, inputs):
            x_t, step = inputs
            ring = self.push(ring, x_t, step)
            return ring, self.read(ring, step, kernel)

        ring = self.initial_ring(x.shape[1], x.shape[2], x.dtype)
        _, drive = jax.lax.scan(body, ring, (x, jnp.arange(x.shape[0])))
        return jnp.swapaxes(drive, 0, 1) if batch_first else drive

    def round_delays(self) -> "LearnableDelays":
        """The delays rounded to the nearest step (halves to even), read by the linear kernel:
        each synapse then reads exactly one lag."""
        return LearnableDelays(jnp.round(self.delays), self.max_delay_steps, "linear", self.sigma)

    def delay_steps(self) -> Int[np.ndarray, "n_in n_out"]:
        """The rounded delays as integers (steps), on the host."""
        return np.rint(np.asarray(self.delays)).astype(np.int32)

    def delay_steps_for(self, conn: AbstractConnectivity) -> Int[np.ndarray, "*stored"]:
        """The rounded delays of `conn`'s synapses in its stored layout (`(nnz,)` for `CSR`,
        `(n_pre, k)` for `ELL`, padding 1), for `Projection(..., delay_steps=...)`.

        **Arguments:**
        - `conn`: a built `CSR` or `ELL` of shape `(n_in, n_out)` (e.g. from `bs.FromArrays`).

        **Raises:** `ValueError` if a synapse's delay rounds to 0 steps: a `Network` delivers a
        spike one step after it is emitted at the earliest.
        """
        n_in, n_out = self.delays.shape
        if (conn.n_pre, conn.n_post) != (n_in, n_out):
            raise ValueError(f"`conn` is {conn.n_pre} x {conn.n_post}; the delays are {n_in} x {n_out}.")
        pre, post, valid = stored_synapses(conn)
        steps = self.delay_steps()[pre, np.where(valid, post, 0)]
        if np.any(steps[valid] < 1):
            raise ValueError(
                "`delays`: a `Network` projection delivers after >= 1 step, but some delays round "
                "to 0 steps; keep delays >= 0.5 steps, or shift the input by one step."
            )
        return np.where(valid, steps, 1).astype(np.int32)


class DelayedSpikingLayer(AbstractLayer):
    r"""A spiking layer whose input synapses have learnable delays: `layer`'s neurons, synapses
    and recurrence, driven through `delays`'s interpolating delay line with `layer.weights`:

    $$\text{drive}_{t,j} = \sum_i w_{ij} \sum_k K_k(d_{ij})\, x_{t-k,i}
    \;(+\; s_{t-1} W_\mathrm{rec}),$$

    then `layer.step` (the `RecurrentSpikingLayer` step). One scan carries the ring buffer and the
    neuron state; `layer.checkpoint_every` bounds BPTT memory as in the layer.

    **Fields:**
    - `layer`: a `RecurrentSpikingLayer` (e.g. from `SpikingLayer(...)`); its `weights` are the
      delayed synapses' weights.
    - `delays`: a `LearnableDelays` of the same `(n_in, n_out)` shape.
    """

    layer: RecurrentSpikingLayer
    delays: LearnableDelays

    def __check_init__(self):
        if jnp.shape(self.delays.delays) != jnp.shape(self.layer.weights):
            raise ValueError(
                f"`delays` must have the layer's weight shape {jnp.shape(self.layer.weights)}; got "
                f"{jnp.shape(self.delays.delays)}."
            )

    @property
    def n_in(self) -> int:
        return self.layer.n_in

    @property
    def n_out(self) -> int:
        return self.layer.n_out

    def forward(self, x: SequenceIn) -> SequenceOut:
        n_steps, batch, n_in = x.shape
        steps = jnp.arange(n_steps)
        times = steps.astype(x.dtype) * jnp.asarray(self.layer.dt, x.dtype)
        kernel = self.delays.synaptic_kernel(self.layer.weights.astype(x.dtype))

        def body(carry, inputs):
            ring, state = carry
            x_t, step, t = inputs
            ring = self.delays.push(ring, x_t, step)
            state, fired = self.layer.step(state, self.delays.read(ring, step, kernel), t)
            return (ring, state), fired

        init = (self.delays.initial_ring(batch, n_in, x.dtype), self.layer.initial_state(batch, x.dtype))
        _, spikes = checkpointed_scan(
            body, init, (x, steps, times), checkpoint_every=self.layer.checkpoint_every
        )
        return spikes

    def round_delays(self) -> "DelayedSpikingLayer":
        """This layer with its delays rounded to whole steps (`LearnableDelays.round_delays`)."""
        return DelayedSpikingLayer(self.layer, self.delays.round_delays())
