r"""Synthetic temporal tasks for training recurrent networks, from an explicit `jax.random` key.

Each generator returns time-first inputs `(T, batch, n_in)` (0/1 spikes as float32, or values)
and the targets of the batch. They need no files and no internet.

- `delayed_xor`: two bits shown one after the other, a delay, then the XOR is asked for.
- `adding_task`: the sum of the two marked values in a sequence (Hochreiter & Schmidhuber 1997).
- `cue_accumulation`: which side showed more cues, asked after a delay (Bellec et al. 2020).

??? cite "References"
    ```bibtex
    @article{hochreiter1997long,
      author = {Hochreiter, Sepp and Schmidhuber, J{\"u}rgen}, title = {Long short-term memory},
      journal = {Neural Computation}, volume = {9}, number = {8}, pages = {1735--1780}, year = {1997}}
    @article{bellec2020solution,
      author = {Bellec, Guillaume and Scherr, Franz and Subramoney, Anand and Hajek, Elias and
                Salaj, Darjan and Legenstein, Robert and Maass, Wolfgang},
      title = {A solution to the learning dilemma for recurrent networks of spiking neurons},
      journal = {Nature Communications}, volume = {11}, pages = {3625}, year = {2020}}
    ```
"""

import functools as ft

import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, Int, PRNGKeyArray


def _require(name: str, value, low, unit: str = "") -> None:
    if not value >= low:
        raise ValueError(f"`{name}` must be >= {low}{' ' + unit if unit else ''}; got {value!r}.")


def _require_probability(dt: float, rate_hz: float, noise_hz: float) -> None:
    if not dt > 0:
        raise ValueError(f"`dt` must be > 0 ms; got {dt!r}.")
    for name, rate in (("rate_hz", rate_hz), ("noise_hz", noise_hz)):
        if not 0 <= rate * dt * 1e-3 <= 1:
            raise ValueError(
                f"`{name}` must be >= 0 Hz with `{name}` * `dt` * 1e-3 <= 1 (one spike per step); "
                f"got {rate!r} Hz at `dt` = {dt!r} ms."
            )


def _windowed_spikes(key, windows, dt, rate_hz, noise_hz) -> Array:
    """Bernoulli spikes, probability `rate_hz * dt * 1e-3` where `windows` is 1, `noise_hz`'s elsewhere."""
    rate = jnp.asarray(noise_hz, jnp.float32) + windows * jnp.asarray(rate_hz - noise_hz, jnp.float32)  # Hz
    return _spikes_at_rates(key, rate, dt)


def _spikes_at_rates(key, rate_hz, dt) -> Array:
    """Bernoulli spikes with probability `rate_hz * dt * 1e-3` per step (`rate_hz` an array, Hz)."""
    p = rate_hz * jnp.asarray(dt * 1e-3, jnp.float32)
    return (jr.uniform(key, rate_hz.shape) < p).astype(jnp.float32)


def delayed_xor(
    key: PRNGKeyArray,
    batch: int,
    *,
    cue_steps: int = 10,
    delay_steps: int = 20,
    response_steps: int = 10,
    dt: float = 1.0,
    rate_hz: float = 200.0,
    noise_hz: float = 0.0,
) -> tuple[Float[Array, "T batch 3"], Int[Array, " batch"]]:
    r"""Delayed XOR: bit $a$, a delay, bit $b$, a delay, then a go cue; the label is $a \oplus b$.

    Three input channels of Poisson spikes: channel 0 fires for a 0 bit, channel 1 for a 1 bit
    (each cue lasts `cue_steps`), channel 2 is the go cue (the last `response_steps`). The
    timeline, `T = 2 * (cue_steps + delay_steps) + response_steps`:

    ```text
    [cue a][delay][cue b][delay][go]
    ```

    Bits are independent and fair, so the four combinations and both labels are equally likely.

    **Arguments:**
    - `key`: JAX key; `batch`: samples, >= 1.
    - `cue_steps`, `response_steps` >= 1; `delay_steps` >= 0.
    - `dt`: ms, > 0; `rate_hz`: the rate of an active channel, Hz; `noise_hz`: background rate
      of every channel elsewhere, Hz (both with `rate * dt * 1e-3 <= 1`).

    **Returns:** `(inputs (T, batch, 3) float32 spikes, labels (batch,) int32 in {0, 1})`.
    """
    _require("batch", batch, 1)
    _require("cue_steps", cue_steps, 1)
    _require("response_steps", response_steps, 1)
    _require("delay_steps", delay_steps, 0)
    _require_probability(dt, rate_hz, noise_hz)
    return _delayed_xor(key, batch, cue_steps, delay_steps, response_steps, dt, rate_hz, noise_hz)


@ft.partial(jax.jit, static_argnums=range(1, 5))  # sizes static; dt and rates traced (one compile)
def _delayed_xor(key, batch, cue_steps, delay_steps, response_steps, dt, rate_hz, noise_hz):
    bits_key, spike_key = jr.split(key)
    bits = jr.bernoulli(bits_key, 0.5, (2, batch)).astype(jnp.int32)  # (a, b)
    period = cue_steps + delay_steps
    n_steps = 2 * period + response_steps
    t = jnp.arange(n_steps)[:, None]  # (T, 1)
    windows = []
    for channel in range(2):  # static: the two bit channels
        in_a = (t < cue_steps) & (bits[0][None, :] == channel)
        in_b = (t >= period) & (t < period + cue_steps) & (bits[1][None, :] == channel)
        windows.append(in_a | in_b)
    windows.append(jnp.broadcast_to(t >= 2 * period, (n_steps, batch)))
    windows = jnp.stack(windows, axis=-1).astype(jnp.float32)  # (T, batch, 3)
    inputs = _windowed_spikes(spike_key, windows, dt, rate_hz, noise_hz)
    return inputs, jnp.bitwise_xor(bits[0], bits[1])


def adding_task(
    key: PRNGKeyArray, batch: int, *, n_steps: int = 100
) -> tuple[Float[Array, "n_steps batch 2"], Float[Array, " batch"]]:
    r"""The adding problem: sum the two marked numbers of a sequence.

    Channel 0 holds values $x_t \sim U[0, 1)$; channel 1 is 1 at exactly two steps, one in each
    half of the sequence (uniformly placed), and 0 elsewhere. The target is

    $$y = \sum_t x_t\, m_t \in [0, 2),$$

    so the network must remember the first marked value across at least `n_steps / 2` steps.

    **Arguments:**
    - `key`: JAX key; `batch`: samples, >= 1.
    - `n_steps`: the sequence length `T`, >= 2.

    **Returns:** `(inputs (T, batch, 2) float32 values, targets (batch,) float32)`.
    """
    _require("batch", batch, 1)
    _require("n_steps", n_steps, 2)
    return _adding(key, batch, n_steps)


@ft.partial(jax.jit, static_argnums=(1, 2))
def _adding(key, batch, n_steps):
    value_key, first_key, second_key = jr.split(key, 3)
    half = n_steps // 2
    values = jr.uniform(value_key, (n_steps, batch), jnp.float32)
    first = jr.randint(first_key, (batch,), 0, half)
    second = jr.randint(second_key, (batch,), half, n_steps)
    t = jnp.arange(n_steps)[:, None]
    markers = ((t == first[None, :]) | (t == second[None, :])).astype(jnp.float32)
    targets = jnp.sum(values * markers, axis=0)
    return jnp.stack([values, markers], axis=-1), targets


def cue_accumulation(
    key: PRNGKeyArray,
    batch: int,
    *,
    n_cues: int = 7,
    cue_steps: int = 100,
    gap_steps: int = 50,
    delay_steps: int = 1000,
    recall_steps: int = 150,
    n_per_group: int = 10,
    dt: float = 1.0,
    rate_hz: float = 40.0,
    noise_hz: float = 10.0,
) -> tuple[Float[Array, "T batch n_in"], Int[Array, " batch"]]:
    r"""Evidence accumulation: after a delay, report the side (left 0, right 1) that cued more often.

    Four groups of `n_per_group` input channels, as in Bellec et al. 2020 (e-prop): left cues,
    right cues, recall cue, background noise. Each of the `n_cues` cues (odd, so there is no
    tie) is on the left or the right with probability 1/2; during a cue its group fires at
    `rate_hz`. After the cues, a delay, then the recall group fires for `recall_steps`. The
    noise group fires at `noise_hz` throughout; silent groups do not fire. Timeline, with
    `T = n_cues * (cue_steps + gap_steps) + delay_steps + recall_steps`:

    ```text
    ([cue][gap]) x n_cues [delay][recall]
    ```

    The label is 1 when more cues were on the right: the two labels are equally likely.

    **Arguments:**
    - `key`: JAX key; `batch`: samples, >= 1.
    - `n_cues`: odd, >= 1; `cue_steps`, `recall_steps`, `n_per_group` >= 1; `gap_steps`,
      `delay_steps` >= 0.
    - `dt`: ms, > 0; `rate_hz`, `noise_hz`: Hz (with `rate * dt * 1e-3 <= 1`).

    **Returns:** `(inputs (T, batch, 4 * n_per_group) float32 spikes, labels (batch,) int32)`.
    """
    _require("batch", batch, 1)
    _require("n_cues", n_cues, 1)
    if n_cues % 2 == 0:
        raise ValueError(f"`n_cues` must be odd (no ties); got {n_cues!r}.")
    for name, value in (
        ("cue_steps", cue_steps),
        ("recall_steps", recall_steps),
        ("n_per_group", n_per_group),
    ):
        _require(name, value, 1)
    _require("gap_steps", gap_steps, 0)
    _require("delay_steps", delay_steps, 0)
    _require_probability(dt, rate_hz, noise_hz)
    return _cue_accumulation(
        key,
        batch,
        n_cues,
        cue_steps,
        gap_steps,
        delay_steps,
        recall_steps,
        n_per_group,
        dt,
        rate_hz,
        noise_hz,
    )


@ft.partial(jax.jit, static_argnums=range(1, 8))  # sizes static; dt and rates traced
def _cue_accumulation(
    key, batch, n_cues, cue_steps, gap_steps, delay_steps, recall_steps, n_per_group, dt, rate_hz, noise_hz
):
    side_key, spike_key = jr.split(key)
    right = jr.bernoulli(side_key, 0.5, (n_cues, batch))  # side of each cue
    period = cue_steps + gap_steps
    cue_end = n_cues * period
    n_steps = cue_end + delay_steps + recall_steps
    t = jnp.arange(n_steps)
    cue_index = jnp.minimum(t // period, n_cues - 1)
    in_cue = (t < cue_end) & (t % period < cue_steps)  # (T,)
    cue_right = right[cue_index]  # (T, batch)
    left_on = in_cue[:, None] & ~cue_right
    right_on = in_cue[:, None] & cue_right
    recall_on = jnp.broadcast_to((t >= cue_end + delay_steps)[:, None], (n_steps, batch))
    groups = jnp.stack([left_on, right_on, recall_on], axis=-1).astype(jnp.float32)  # (T, batch, 3)
    signal_hz = jnp.repeat(groups, n_per_group, axis=-1) * jnp.asarray(rate_hz, jnp.float32)
    noise_hz = jnp.full((n_steps, batch, n_per_group), noise_hz, jnp.float32)
    labels = (2 * jnp.sum(right, axis=0) > n_cues).astype(jnp.int32)
    return _spikes_at_rates(spike_key, jnp.concatenate([signal_hz, noise_hz], axis=-1), dt), labels
