r"""IP$_3$ diffusion through gap junctions between astrocytes (Goldberg et al. 2010)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from ..._validation import _concrete, require_nonnegative, require_parameter, require_positive


def _as_neighbours(neighbours) -> Array:
    """An index array; lists and NumPy arrays become int32 device arrays."""
    if isinstance(neighbours, jax.Array):
        return neighbours
    concrete = np.asarray(neighbours)
    if np.issubdtype(concrete.dtype, np.integer):
        concrete = concrete.astype(np.int32)
    return jax.device_put(concrete)


class GapJunctions(eqx.Module):
    r"""Nonlinear IP$_3$ flux between neighbouring astrocytes (Goldberg et al. 2010), the
    coupling of Stimberg et al. 2019 (Fig. 5, 6):

    $$J_{\mathrm{coupling},i} = \sum_{j \in \mathcal{N}(i)} \frac{F}{2}
      \left(1 + \tanh\frac{|I_j - I_i| - I_\Theta}{\omega_I}\right) \operatorname{sgn}(I_j - I_i),$$

    µM/s into astrocyte $i$. Each pair exchanges equal and opposite fluxes, so with symmetric
    neighbours the total IP$_3$ is conserved. The flux is regenerative: almost nothing flows
    while the gradient $|I_j - I_i|$ is below the threshold $I_\Theta$, and up to $F$ above it.

    **Fields:**
    - `neighbours`: integer array, shape `(n, k)`: row $i$ lists the astrocytes coupled to
      astrocyte $i$; entries `-1` or `n` are padding (no neighbour), so astrocytes may have
      fewer than `k` neighbours. Give both directions of a junction ($j$ in row $i$ and $i$ in
      row $j$) for a symmetric coupling. `brainsim.connect.astrocytes.ring_neighbours` and
      `grid_neighbours` build the usual layouts.
    - `F`: gap-junction IP$_3$ permeability, µM/s; >= 0 (0.09 µM/s in Stimberg et al. 2019).
    - `I_theta`: threshold gradient for diffusion, µM; >= 0 (0.3 µM).
    - `omega_I`: width of the threshold, µM; > 0 (0.05 µM).

    ??? cite "Reference"
        ```bibtex
        @article{goldberg2010,
          author = {Goldberg, Maxim and De Pitt\`a, Maurizio and Volman, Vladislav and
                    Berry, Hugues and Ben-Jacob, Eshel},
          title = {Nonlinear gap junctions enable long-distance propagation of pulsating
                   calcium waves in astrocyte networks},
          journal = {PLoS Comput. Biol.}, volume = {6}, number = {8}, pages = {e1000909},
          year = {2010}}
        ```
    """

    neighbours: Int[Array, "n k"] = eqx.field(converter=_as_neighbours)
    F: float | Float[Array, ""] = 0.09
    I_theta: float | Float[Array, ""] = 0.3
    omega_I: float | Float[Array, ""] = 0.05

    def __check_init__(self):
        if self.neighbours.ndim != 2 or not jnp.issubdtype(self.neighbours.dtype, jnp.integer):
            raise ValueError(
                "`neighbours` must be an integer array of shape (n, k); got shape "
                f"{self.neighbours.shape} and dtype {self.neighbours.dtype}."
            )
        n = self.neighbours.shape[0]
        concrete = _concrete(self.neighbours)
        if concrete is None:  # traced (built under jit): checked when concrete
            concrete = np.zeros((0, 0), np.int32)
        if concrete.size and (concrete.min() < -1 or concrete.max() > n):
            raise ValueError(
                f"`neighbours` entries must be astrocyte indices in [0, {n}) or padding (-1 or {n}); "
                f"got min {concrete.min()} and max {concrete.max()}."
            )
        if np.any(concrete == np.arange(n)[:, None]):
            raise ValueError("`neighbours` must not couple an astrocyte to itself (row i holds i).")
        scalars = (("F", self.F, "µM/s"), ("I_theta", self.I_theta, "µM"), ("omega_I", self.omega_I, "µM"))
        for name, value, unit in scalars:
            require_parameter(name, value, unit)
            if np.ndim(value) != 0:
                raise ValueError(f"`{name}` must be a scalar ({unit}); got shape {np.shape(value)}.")
        require_nonnegative("F", self.F, "µM/s")
        require_nonnegative("I_theta", self.I_theta, "µM")
        require_positive("omega_I", self.omega_I, "µM")

    @property
    def n(self) -> int:
        """Number of astrocytes the neighbour table describes."""
        return self.neighbours.shape[0]

    def flux(self, ip3: Float[Array, " n"]) -> Float[Array, " n"]:
        r"""$J_\mathrm{coupling}$, µM/s, into each astrocyte, for IP$_3$ levels `ip3` (µM), shape `(n,)`."""
        n = ip3.shape[0]
        valid = (self.neighbours >= 0) & (self.neighbours < n)
        other = ip3[jnp.clip(self.neighbours, 0, n - 1)]
        gradient = other - ip3[:, None]
        dtype = ip3.dtype
        permeability = jnp.asarray(self.F, dtype)
        gate = 1.0 + jnp.tanh(
            (jnp.abs(gradient) - jnp.asarray(self.I_theta, dtype)) / jnp.asarray(self.omega_I, dtype)
        )
        per_junction = 0.5 * permeability * gate * jnp.sign(gradient)
        return jnp.sum(jnp.where(valid, per_junction, jnp.zeros((), dtype)), axis=1)
