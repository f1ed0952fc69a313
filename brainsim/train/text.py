r"""Character-level language modelling with the `EGRU`: the text shipped with brainsim, a reader
that turns text into `(input, target)` index sequences, and a small model with its loss.

The model reads one-hot characters $x_t$, runs an `EGRU` and maps its outputs $y_t$ linearly to
logits $\ell_t = W^\top y_t + b$ over the alphabet; the loss is the mean cross-entropy of the
next character, $-\frac{1}{TB}\sum \log p(c_{t+1} \mid c_{\le t})$ in nats, and the
bits per character are that loss over $\ln 2$. A model that ignores context cannot beat the
unigram entropy $H_1 = -\sum_c p_c \log_2 p_c$ of the text (`unigram_entropy_bits`).
"""

import importlib.resources
import math
from collections import Counter

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray

from .._validation import require_positive_int
from .cells_recurrent import EGRU

SHAKESPEARE_FILE = "tiny_shakespeare_head.txt"


def shakespeare_text() -> str:
    """The text shipped with brainsim: the first 60,648 characters (the opening of
    *Coriolanus*) of Karpathy's "tiny Shakespeare" (public domain; see
    `brainsim/train/corpora/README.md`)."""
    return (importlib.resources.files("brainsim.train") / "corpora" / SHAKESPEARE_FILE).read_text("utf-8")


def encode_text(text: str, alphabet: str | None = None) -> tuple[Int[np.ndarray, " n"], str]:
    """`(indices, alphabet)`: each character of `text` as its index in `alphabet` (default: the
    sorted distinct characters of `text`). A character missing from `alphabet` raises."""
    if not isinstance(text, str) or not text:
        raise ValueError("`text` must be a non-empty string.")
    alphabet = "".join(sorted(set(text))) if alphabet is None else alphabet
    lookup = {c: k for k, c in enumerate(alphabet)}
    missing = sorted(set(text) - set(lookup))
    if missing:
        raise ValueError(f"`text` has characters missing from `alphabet`: {missing[:10]!r}.")
    return np.fromiter((lookup[c] for c in text), np.int32, len(text)), alphabet


def char_sequences(
    indices: Int[ArrayLike, " n"], seq_len: int
) -> tuple[Int[np.ndarray, "m seq_len"], Int[np.ndarray, "m seq_len"]]:
    """Consecutive non-overlapping windows of `seq_len + 1` characters as `(inputs, targets)`:
    `targets[k, t] = inputs[k, t + 1]` within a window, the next character of the text.

    **Returns:** two int arrays `(m, seq_len)`, `m = (n - 1) // seq_len` windows.
    """
    seq_len = require_positive_int("seq_len", seq_len)
    indices = np.asarray(indices)
    m = (len(indices) - 1) // seq_len
    if m < 1:
        raise ValueError(f"the text has {len(indices)} characters, too few for one window of `seq_len` + 1.")
    inputs = indices[: m * seq_len].reshape(m, seq_len)
    targets = indices[1 : m * seq_len + 1].reshape(m, seq_len)
    return inputs, targets


def unigram_entropy_bits(text: str) -> float:
    r"""$H_1 = -\sum_c p_c \log_2 p_c$, bits per character, with $p_c$ the frequency of `c` in `text`."""
    counts = np.array(list(Counter(text).values()), dtype=np.float64)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


class CharLanguageModel(eqx.Module):
    """One-hot characters -> `EGRU` -> linear logits (see the module docstring).

    **Fields:** `egru` (an `EGRU` with `n_in` = the alphabet size), `weights`
    `(n_hidden, n_chars)`, `bias` `(n_chars,)`.

    Build it with `CharLanguageModel(n_chars, n_hidden, key=...)`.
    """

    egru: EGRU
    weights: Float[Array, "n_hidden n_chars"]
    bias: Float[Array, " n_chars"]

    def __init__(self, n_chars: int, n_hidden: int, *, key: PRNGKeyArray, threshold: float = 0.1, dtype=None):
        dtype = jnp.result_type(float) if dtype is None else dtype
        k_cell, k_out = jr.split(key)
        self.egru = EGRU(n_chars, n_hidden, key=k_cell, threshold=threshold, dtype=dtype)
        self.weights = jr.normal(k_out, (n_hidden, n_chars), dtype) / math.sqrt(n_hidden)
        self.bias = jnp.zeros(n_chars, dtype)

    def __call__(
        self, indices: Int[Array, "batch time"]
    ) -> tuple[Float[Array, "batch time n_chars"], Float[Array, "time batch n_hidden"]]:
        """`(logits, events)` for a batch of index sequences (batch first); `events` are the
        EGRU's 0/1 events, time first."""
        n_chars = self.weights.shape[1]
        x = jax.nn.one_hot(jnp.swapaxes(indices, 0, 1), n_chars, dtype=self.weights.dtype)
        y, events = self.egru.events(x)
        logits = jnp.einsum("tbn,nc->btc", y, self.weights) + self.bias[None, None, :]
        return logits, events


def char_lm_loss(
    model: CharLanguageModel, inputs: Int[Array, "batch time"], targets: Int[Array, "batch time"]
) -> tuple[Float[Array, ""], dict[str, Float[Array, ""]]]:
    """Mean next-character cross-entropy (nats), with `bits_per_char` (the same over ln 2) and
    `activity` (fraction of EGRU units emitting an event per step) as metrics: a `loss_fn` for
    `brainsim.train.fit`."""
    logits, events = model(inputs)
    log_p = jax.nn.log_softmax(logits, axis=-1)
    picked = jnp.take_along_axis(log_p, targets[..., None], axis=-1)
    loss = -jnp.mean(picked)
    return loss, {"bits_per_char": loss / math.log(2.0), "activity": jnp.mean(events)}
