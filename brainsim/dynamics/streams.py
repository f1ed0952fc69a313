"""What streams in through the data channel: `run(..., inputs={name: array (T, ...)})`.

Data with a leading time axis (a batch of spike-encoded digits, a stimulus current) is scanned
together with the steps, not baked into the `Network`, so the same compiled network runs on
any data of the same shape and `jax.vmap` maps it over a batch.

- `SpikeSource` / `ValueSource` are population models: the population emits row `t` of
  `inputs[population name]` at step `t` (0/1 spikes, or values), and its projections deliver
  them like any other population's (delays, connectivity, synapses, outputs).
- `StreamedCurrent` adds row `t` of `inputs[stream]` (pA, scalar or `(n,)`) to a population's
  input current.
"""

import equinox as eqx


class SpikeSource(eqx.Module):
    """A population whose spikes are data: `inputs[name]` of shape `(T, n)`, 0/1 (floats carry
    gradients to whatever produced them). As Brian2's `SpikeGeneratorGroup`, streamed."""


class ValueSource(eqx.Module):
    """A population whose output values are data: `inputs[name]` of shape `(T, n)` (e.g. rates,
    Hz, delivered by matrix-vector product)."""


class StreamedCurrent(eqx.Module):
    """Adds `inputs[stream][t]` (pA; shape `()` or `(n,)` per step) to population `target`.

    **Fields:** `target` (population name), `stream` (the key in `inputs`).
    """

    target: str = eqx.field(static=True)
    stream: str = eqx.field(static=True)

    def __check_init__(self):
        for name, value in (("target", self.target), ("stream", self.stream)):
            if not isinstance(value, str) or not value:
                raise TypeError(f"`{name}` of `StreamedCurrent` must be a non-empty string; got {value!r}.")
