r"""Expressive Leaky Memory (ELM) neuron (Spieler et al., ICLR 2024): leaky memory units with
learnable timescales, updated by a small MLP of the synaptic input and the memory itself."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ..._custom_types import TimeLike
from ..._validation import require_finite, require_positive, require_positive_int
from ..synaptic_input import as_synaptic_input
from .base import AbstractLinearInState, AbstractValueNeuron

# LeCun's scaled tanh, which the authors' code applies to the MLP's output: 1.7159 tanh(2x/3).
_TANH_GAIN, _TANH_SLOPE = 1.7159, 2.0 / 3.0


class ELMState(eqx.Module):
    """State of `ELM`: `m`, the memory units of each neuron (dimensionless), shape `(n, n_memory)`."""

    m: Float[Array, "n n_memory"]


class MemoryTimescales(eqx.Module):
    r"""Learnable memory time constants bounded to $[\tau_\mathrm{min}, \tau_\mathrm{max}]$ by a
    scaled sigmoid, $\tau_m = \tau_\mathrm{min} + (\tau_\mathrm{max} - \tau_\mathrm{min})\,
    \sigma(\ell)$, as in the authors' code; the trained parameter is the logit $\ell$.

    **Arguments:**
    - `tau`: the initial time constants, ms, shape `(n_memory,)`, each in
      [`tau_min`, `tau_max`] (values at the bounds are moved inside by $10^{-6}$ of the range so
      the logit stays finite).
    - `tau_min`, `tau_max`: the bounds, ms; 0 < `tau_min` < `tau_max`.
    """

    logit: Float[Array, " n_memory"]
    tau_min: float = eqx.field(static=True)
    tau_max: float = eqx.field(static=True)

    def __init__(self, tau, tau_min: float = 1.0, tau_max: float = 1000.0):
        require_positive("tau_min", tau_min, "ms")
        if not tau_max > tau_min:
            raise ValueError(f"`tau_max` must be > `tau_min` ms; got {tau_max!r} and {tau_min!r}.")
        tau = jnp.asarray(tau)
        if tau.ndim != 1 or tau.shape[0] == 0:
            raise ValueError(f"`tau` must have shape (n_memory,) with n_memory >= 1; got {tau.shape}.")
        require_finite("tau", tau, "ms")
        concrete = np.asarray(tau, np.float64)
        slack = 1e-6 * (tau_max - tau_min)  # rounding of the bounds in float32
        if np.any(concrete < tau_min - slack) or np.any(concrete > tau_max + slack):
            raise ValueError(
                f"`tau` must lie in [{tau_min}, {tau_max}] ms (`tau_min`, `tau_max`); got {tau}."
            )
        margin = 1e-6 * (tau_max - tau_min)
        inside = jnp.clip(tau, tau_min + margin, tau_max - margin)
        self.logit = jnp.log((inside - tau_min) / (tau_max - inside))
        self.tau_min, self.tau_max = float(tau_min), float(tau_max)

    @property
    def tau(self) -> Float[Array, " n_memory"]:
        """The time constants $\\tau_m$, ms."""
        return self.tau_min + (self.tau_max - self.tau_min) * jax.nn.sigmoid(self.logit)


class ELM(AbstractValueNeuron[ELMState], AbstractLinearInState[ELMState]):
    r"""Expressive Leaky Memory neuron: $d_m$ leaky memory units per neuron, with timescales
    spread from 1 ms to 1 s, updated by an MLP of the synaptic input and the memory.

    The paper's neuron (Spieler et al. 2024, Algorithm 1, and the authors' code), with
    $\kappa = e^{-\Delta t/\tau}$ and synaptic weights $w_s$:

    $$s_t = \kappa_s \odot s_{t-1} + w_s \odot x_t, \qquad
    \Delta m_t = \tanh^*\!\big(\mathrm{MLP}([s_t,\ \kappa_m \odot m_{t-1}])\big),$$

    $$m_t = \kappa_m \odot m_{t-1} + \lambda\,(1 - \kappa_m) \odot \Delta m_t, \qquad
    y_t = W_y m_t + b_y,$$

    with $\tanh^*(x) = 1.7159\tanh(2x/3)$, one hidden ReLU layer of width $2 d_m$, $\lambda = 5$,
    $\tau_s = 5$ ms and $\tau_m$ log-spaced over [1, 1000] ms.

    **Here**, a population holds `n` such neurons sharing one set of parameters (one
    phenomenological cell type), each with one synaptic input $I$ (its "branch", as the
    Branch-ELM of the same paper). The synaptic traces $s_t$ and weights $w_s$ are the
    incoming projections': an `ExponentialSynapse(tau=5.0)` with a `CUBA` output delivers
    exactly $I_t = \sum_i w_{s,i} s_{t,i}$ (on-events then decay, as above); projections with
    different `tau` give synapses different timescales. The memory obeys

    $$\tau_m \frac{dm}{dt} = -m + \lambda\,\Delta m, \qquad
    \Delta m = \tanh^*\!\big(\mathrm{MLP}([I,\ m])\big),$$

    linear in $m$ given $\Delta m$ ($a = -1/\tau_m$, $b = \lambda\Delta m/\tau_m$), so
    exponential Euler with $\Delta m$ held over the step is the paper's update $m_t$ above. The
    MLP reads $m_{t-1}$ rather than $\kappa_m \odot m_{t-1}$: the same family of functions (the
    factor is absorbed into the first layer's memory columns), and the vector field does not
    depend on $\Delta t$. Without input ($\Delta m = 0$) memory unit $k$ decays as
    $e^{-t/\tau_{m,k}}$. Emits $y = w_y \cdot m + b_y$ per neuron (dimensionless).

    **Fields:**
    - `integration`: the MLP, `1 + n_memory` inputs ($[I, m]$) to `n_memory` outputs.
    - `readout`: $y = w_y \cdot m + b_y$, an `eqx.nn.Linear(n_memory, "scalar")`.
    - `memory`: the time constants $\tau_m$ (`MemoryTimescales`, learnable within bounds).
    - `memory_scale`: $\lambda$, > 0 (default 5, the paper's).

    The input $I$ is the `current_at_zero` of the population's input (pA from `CUBA`
    outputs; the MLP treats it as a number). The ELM has no membrane potential: conductances
    are ignored and `COBA` outputs cannot target it.

    ??? cite "Reference"
        ```bibtex
        @inproceedings{spieler2024elm,
          author = {Spieler, Aaron and Rahaman, Nasim and Martius, Georg and
                    Sch{\"o}lkopf, Bernhard and Levina, Anna},
          title = {The Expressive Leaky Memory Neuron: an Efficient and Expressive
                   Phenomenological Neuron Model Can Solve Long-Horizon Tasks},
          booktitle = {International Conference on Learning Representations (ICLR)},
          year = {2024}}
        ```
    """

    integration: eqx.nn.MLP
    readout: eqx.nn.Linear
    memory: MemoryTimescales
    memory_scale: float = 5.0

    def __init__(
        self,
        n_memory: int = 10,
        *,
        key: PRNGKeyArray,
        tau_min: float = 1.0,
        tau_max: float = 1000.0,
        hidden: int | None = None,
        memory_scale: float = 5.0,
        dtype=None,
    ):
        """**Arguments:** `n_memory` ($d_m$, >= 1), `key` (MLP and readout weights), `tau_min`
        and `tau_max` (ms; $\\tau_m$ starts log-spaced between them and stays within them),
        `hidden` (MLP width, default `2 * n_memory`), `memory_scale` ($\\lambda$), `dtype`
        (of the weights; default float64 under x64, else float32)."""
        n_memory = require_positive_int("n_memory", n_memory)
        hidden = 2 * n_memory if hidden is None else require_positive_int("hidden", hidden)
        require_positive("tau_min", tau_min, "ms")
        if not tau_max > tau_min:
            raise ValueError(f"`tau_max` must be > `tau_min` ms; got {tau_max!r} and {tau_min!r}.")
        dtype = jnp.result_type(float) if dtype is None else dtype
        k_mlp, k_out = jr.split(key)
        self.integration = eqx.nn.MLP(1 + n_memory, n_memory, hidden, 1, key=k_mlp, dtype=dtype)
        self.readout = eqx.nn.Linear(n_memory, "scalar", key=k_out, dtype=dtype)
        self.memory = MemoryTimescales(
            jnp.asarray(np.geomspace(tau_min, tau_max, n_memory), dtype), tau_min, tau_max
        )
        self.memory_scale = memory_scale

    def __check_init__(self):
        require_positive("memory_scale", self.memory_scale)

    @property
    def n_memory(self) -> int:
        """$d_m$, the memory units per neuron."""
        return self.memory.logit.shape[0]

    def init_state(self, n: int, *, key: PRNGKeyArray | None = None) -> ELMState:
        """All memory units at 0, as the paper's sequences start."""
        return ELMState(m=jnp.zeros((n, self.n_memory), self.memory.logit.dtype))

    def update(
        self, current: Float[Array, " n"], m: Float[Array, "n n_memory"]
    ) -> Float[Array, "n n_memory"]:
        r"""$\Delta m = \tanh^*(\mathrm{MLP}([I, m]))$ for input `current` and memory `m`."""
        features = jnp.concatenate([current[:, None], m], axis=1)
        return _TANH_GAIN * jnp.tanh(_TANH_SLOPE * jax.vmap(self.integration)(features))

    def linear_coefficients(self, t: TimeLike, y: ELMState, args) -> tuple[ELMState, ELMState]:
        current = as_synaptic_input(args).current_at_zero
        current = jnp.broadcast_to(current, y.m.shape[:1]).astype(y.m.dtype)
        tau = jnp.broadcast_to(self.memory.tau[None, :], y.m.shape)
        return ELMState(m=-1.0 / tau), ELMState(m=self.memory_scale * self.update(current, y.m) / tau)

    def value(self, y: ELMState) -> Float[Array, " n"]:
        return jax.vmap(self.readout)(y.m)
