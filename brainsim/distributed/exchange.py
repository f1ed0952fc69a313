r"""The spike exchange between devices, and what it costs.

Once per exchange interval of $M$ steps (1, or up to the network's shortest delay: NEST's
minimum-delay scheme), each device bit-packs the spikes of its *boundary* neurons for the $M$
steps: those with at least one postsynaptic target on another device (a neuron whose targets
are all local is never sent). Populations are packed one after the other,
$\lceil b_p / 8 \rceil$ bytes per step for the largest boundary $b_p$ over devices, and one
`all_gather` gives every device every device's block. Each device unpacks it into global
neuron order, adds its own neurons' spikes, and writes the result into its history rings; a
remote neuron that is not on the boundary has no synapse onto this device, so its row is
never read. A spike emitted at step $t$ acts at step $t + d$ with $d \ge M$, so it has
always arrived by then. The boundary, hence the volume, shrinks with a partition that keeps
connected neurons together.

`CommunicationReport` compares that volume with what compact per-destination index lists
would move (4 bytes per spike and per *other* device holding one of its targets, plus a
4-byte count per device pair and exchange), which is where a partition that keeps
connected neurons together pays off.
"""

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, UInt8


def pack_spikes(fired: dict[str, Bool[Array, "M m"]]) -> UInt8[Array, "M bytes"]:
    """The spikes of each population's slots for `M` steps, bit-packed (8 slots per byte) and
    concatenated in the dict's order: the buffer one device sends per exchange."""
    return jnp.concatenate([jnp.packbits(x, axis=-1) for x in fired.values()], axis=-1)


def unpack_spikes(
    gathered: UInt8[Array, "D M bytes"], widths: dict[str, int], positions: dict[str, np.ndarray]
) -> dict[str, Bool[Array, "M n"]]:
    """Invert `pack_spikes` over all devices' buffers `(D, M, bytes)`: per population, the
    spikes `(M, n_p)` in the population's neuron order (`widths`: entries per device `b_p`;
    `positions`: flat entry `d * b_p + r` of each neuron, `-1` for a neuron not sent, which
    reads as no spike)."""
    out, start = {}, 0
    n_devices, steps = gathered.shape[:2]
    for name, m in widths.items():  # loop over populations (static structure)
        size = -(-m // 8)
        bits = jnp.unpackbits(gathered[..., start : start + size], axis=-1, count=m)  # (D, M, m)
        flat = jnp.moveaxis(bits, 0, 1).reshape(steps, n_devices * m)
        where = positions[name]
        out[name] = jnp.where(where[None, :] >= 0, flat[:, np.maximum(where, 0)], 0).astype(bool)
        start += size
    return out


def packed_bytes(widths: dict[str, int], steps: int) -> int:
    """Bytes of the buffer `pack_spikes` builds for `steps` steps, measured from the buffer
    itself (`jax.eval_shape`, nothing computed)."""
    fired = {name: jax.ShapeDtypeStruct((steps, m), bool) for name, m in widths.items()}
    shape = jax.eval_shape(pack_spikes, fired)
    return int(np.prod(shape.shape)) * shape.dtype.itemsize


@dataclass(frozen=True)
class CommunicationReport:
    """Bytes moved between devices per simulated step, for one partition and spike record.

    **Fields:**
    - `partition`: how the neurons were split (`"contiguous"`, `"metis"`, `"given"`).
    - `n_devices`, `exchange_every`: `D` and the steps per exchange `M`.
    - `all_gather_bytes_per_step`: what the implemented exchange moves: every device receives
      the other `D - 1` devices' packed buffers, so `D (D - 1) B / M` bytes per step for a
      buffer of `B` bytes (the boundary neurons' bits). It depends on the partition (the
      boundary), not on the spikes.
    - `full_gather_bytes_per_step`: the same for a buffer of every slot (no boundary filter).
    - `index_list_bytes_per_step`: what compact per-destination index lists would move, mean
      over the record: 4 bytes per (spike, other device holding one of its targets) plus a
      4-byte count per ordered device pair and exchange.
    - `cross_device_spikes_per_step`: mean (spike, destination device) pairs per step.
    - `cut_synapse_fraction`: fraction of synapses whose two neurons sit on different devices.
    - `padding_fraction`: fraction of device slots that are padding.
    """

    partition: str
    n_devices: int
    exchange_every: int
    all_gather_bytes_per_step: float
    full_gather_bytes_per_step: float
    index_list_bytes_per_step: float
    cross_device_spikes_per_step: float
    cut_synapse_fraction: float
    padding_fraction: float

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def destination_counts(pre, post, part, n_devices: int) -> np.ndarray:
    """Per neuron, the number of devices other than its own that hold one of its targets."""
    n = part.size
    remote = part[pre] != part[post]
    pairs = np.unique(pre[remote] * n_devices + part[post[remote]])
    return np.bincount(pairs // n_devices, minlength=n)


def spike_counts_per_step(outputs: dict, names) -> Float[np.ndarray, "T n"]:
    """The recorded spikes `(T, n)` of populations `names`, concatenated in that order."""
    return np.concatenate([np.asarray(outputs[name]) for name in names], axis=1)
