r"""Modulation: one population's output scales what a projection releases or how fast its
plasticity rule learns, through an explicit coupling object (never a fake current).

A coupling reads its source population's output of the *previous* step (zeros before the
first step), so the order of populations never matters. Each unit of the source modulates a
domain: `domain[i]` names the source unit that covers presynaptic neuron `i` (release) or
postsynaptic neuron `j` (learning rate); `domain=None` lets every unit of a one-unit source,
or the mean of a larger one, act on the whole projection. The factor is affine in the source's
output $m$:

$$f = \mathrm{baseline} + \mathrm{gain} \cdot m.$$

- `ScaleRelease`: each arriving spike of presynaptic neuron $i$ acts with $f_{d(i)}$ times its
  weight (after short-term plasticity): an astrocyte's gliotransmitter raising or lowering
  release probability (Stimberg et al. 2019: $U_0 \to U_0 + (\alpha - U_0)\,\Gamma_S$, i.e.
  baseline 1 and gain $(\alpha - U_0)/U_0$ on the gliotransmitter fraction $\Gamma_S$).
- `ScaleLearningRate`: each weight change of the projection's plasticity rule at
  postsynaptic neuron $j$ is multiplied by $f_{d(j)}$: a neuromodulator (dopamine, reward)
  or an astrocyte gating STDP (NALSM).
"""

import abc

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int


class AbstractModulation(eqx.Module):
    """A coupling from population `source` onto projection `projection`.

    **Fields:**
    - `source`: the modulating population's name (any emission: values or spikes).
    - `projection`: the modulated projection's name.
    - `domain`: `None`, or an int array: for each neuron on the modulated side, the source
      unit that covers it, in `[0, n_source)`.
    - `baseline`, `gain`: the affine map $f = \\mathrm{baseline} + \\mathrm{gain}\\, m$
      (dimensionless factor; `gain` per unit of the source's output).
    """

    source: str = eqx.field(static=True)
    projection: str = eqx.field(static=True)
    domain: Int[Array, " n"] | None
    baseline: Float[Array, ""] | float
    gain: Float[Array, ""] | float

    @abc.abstractmethod
    def modulated_size(self, proj) -> int:
        """How many neurons the domain covers: the projection's presynaptic or postsynaptic side."""

    def factor(self, source_output: Float[Array, " n_source"]) -> Float[Array, "..."]:
        """$f$ per covered neuron (`domain` given), or one scalar (`domain=None`)."""
        level = jnp.mean(source_output) if self.domain is None else source_output[self.domain]
        return self.baseline + self.gain * level


class ScaleRelease(AbstractModulation):
    """Scale each arriving spike of a projection by `baseline + gain * m` of the source unit
    covering its presynaptic neuron (see the module docstring)."""

    def __init__(self, source: str, projection: str, *, domain=None, baseline=1.0, gain=1.0):
        _init(self, source, projection, domain, baseline, gain)

    def modulated_size(self, proj) -> int:
        return proj.connectivity.n_pre


class ScaleLearningRate(AbstractModulation):
    """Scale each weight change of a projection's plasticity rule by `baseline + gain * m` of
    the source unit covering its postsynaptic neuron (see the module docstring)."""

    def __init__(self, source: str, projection: str, *, domain=None, baseline=0.0, gain=1.0):
        _init(self, source, projection, domain, baseline, gain)

    def modulated_size(self, proj) -> int:
        return proj.connectivity.n_post


def _init(module, source, projection, domain, baseline, gain) -> None:
    for role, value in (("source", source), ("projection", projection)):
        if not isinstance(value, str) or not value:
            raise TypeError(f"`{role}` of {type(module).__name__} must be a name; got {value!r}.")
    for role, value in (("baseline", baseline), ("gain", gain)):
        if np.ndim(value) != 0:
            raise ValueError(
                f"`{role}` of {type(module).__name__} must be a scalar; got shape {np.shape(value)}."
            )
    module.source, module.projection, module.baseline, module.gain = source, projection, baseline, gain
    module.domain = None if domain is None else jnp.asarray(np.asarray(domain, np.int32))


def modulation_factors(network, state, kind: type) -> dict[str, Array]:
    """Per projection with couplings of type `kind`, the product of their factors, from each
    source's output of the previous step."""
    from .history import previous_output

    factors: dict[str, Array] = {}
    for modulation in network.modulations:
        if isinstance(modulation, kind):
            factor = modulation.factor(previous_output(state, modulation.source))
            previous = factors.get(modulation.projection)
            factors[modulation.projection] = factor if previous is None else previous * factor
    return factors


def check_modulation(modulation: AbstractModulation, proj, n_source: int) -> None:
    """The domain has one entry per covered neuron, each a unit of the source (before compiling)."""
    where = f"{type(modulation).__name__} from `{modulation.source}` onto `{modulation.projection}`"
    if modulation.domain is None:
        return
    size = modulation.modulated_size(proj)
    domain = np.asarray(modulation.domain)
    if domain.shape != (size,):
        raise ValueError(
            f"{where}: `domain` must have shape ({size},), one source unit per neuron; got {domain.shape}."
        )
    if domain.size and (domain.min() < 0 or domain.max() >= n_source):
        raise ValueError(
            f"{where}: `domain` entries must be source units in [0, {n_source - 1}]; got "
            f"{int(domain.min())}..{int(domain.max())}."
        )
