r"""Which device holds which neuron: the partition of a network's neurons over a 1-D mesh.

A partition assigns each neuron (global numbering: populations in the network's order, as
`SynapseGraph.global_edges`) a device in `[0, D)`. Device `d` holds, per population, the
neurons assigned to it in increasing index order, padded to the population's largest share
$m_p = \max_d |\{i : \mathrm{part}_i = d\}|$ so every device has arrays of the same shape
(`shard_map` needs equal blocks); padding slots step like a real neuron but never spike.

- `"contiguous"`: each population cut into `D` contiguous, equal (±1) slices of ids, the
  connectivity ignored (sPyNNaker's slices; `brainsim.hardware.contiguous_slices`).
- `"metis"`: the hardware mapper's partitioner, METIS k-way on the activity-weighted synapse
  graph (`brainsim.hardware.metis_partition`), which minimises the synapses (weighted by the
  presynaptic rate) that cross devices, hence the spikes to exchange.
- an int array `(n_neurons,)` of device ids.
"""

from dataclasses import dataclass

import numpy as np
from jaxtyping import Float, Int

from .. import hardware
from ..result import SimulationResult
from ..run import RunResult


@dataclass(frozen=True, eq=False)
class DeviceLayout:
    """Where each neuron lives.

    **Fields:**
    - `n_devices`: `D`, >= 1.
    - `part`: int array `(n_neurons,)`, the device of each neuron (global numbering).
    - `slots`: per population, int array `(D, m_p)`: the population-local index of the neuron
      in each device slot, `-1` for padding.
    - `positions`: per population, int array `(n_p,)`: the flat slot `d * m_p + k` of each
      neuron, i.e. where it sits in the device-major concatenation of all devices' slots.
    """

    n_devices: int
    part: Int[np.ndarray, " n_neurons"]
    slots: dict[str, np.ndarray]  # per population: int (D, m_p)
    positions: dict[str, np.ndarray]  # per population: int (n_p,)

    def local_size(self, population: str) -> int:
        """`m_p`: the slots per device for `population` (its largest share)."""
        return int(self.slots[population].shape[1])

    def padding_fraction(self) -> float:
        """Fraction of all device slots that are padding (0 for a perfectly balanced split)."""
        total = sum(s.size for s in self.slots.values())
        return float(sum(int(np.sum(s < 0)) for s in self.slots.values()) / total)


def device_layout(sizes: dict[str, int], part: Int[np.ndarray, " n"], n_devices: int) -> DeviceLayout:
    """The `DeviceLayout` of a partition `part` (global numbering) of populations `sizes`."""
    slots, positions, offset = {}, {}, 0
    for name, n in sizes.items():  # loop over populations (static structure)
        device = part[offset : offset + n]
        counts = np.bincount(device, minlength=n_devices)
        m = max(int(counts.max(initial=0)), 1)
        order = np.argsort(device, kind="stable")  # by device, then by index
        rank = np.arange(n) - np.repeat(np.r_[0, np.cumsum(counts)[:-1]], counts)
        table = np.full((n_devices, m), -1, np.int64)
        table[device[order], rank] = order
        position = np.empty(n, np.int64)
        position[order] = device[order] * m + rank
        slots[name], positions[name] = table, position
        offset += n
    return DeviceLayout(n_devices, np.asarray(part, np.int64), slots, positions)


def contiguous_part(sizes: dict[str, int], n_devices: int) -> Int[np.ndarray, " n"]:
    """Each population cut into `n_devices` contiguous slices of ids, sizes differing by <= 1."""
    return np.concatenate(
        [(np.arange(n) * n_devices) // n for n in sizes.values()]  # loop over populations
    ).astype(np.int64)


def metis_part(
    network, n_devices: int, rates: Float[np.ndarray, " n"] | float, seed: int
) -> Int[np.ndarray, " n"]:
    """The hardware mapper's METIS partition of `network` into `n_devices` parts, the synapse
    graph weighted by presynaptic `rates` (Hz)."""
    graph = hardware.from_network(network, rates=rates)
    return hardware.metis_partition(graph, n_devices, seed=seed)


def activity_rates(network, activity) -> Float[np.ndarray, " n"] | float:
    """Per-neuron rates (Hz, global numbering) from `activity`: `None` (every neuron alike),
    an array of rates `(n_neurons,)`, a `SimulationResult` (compact spike record, as the
    hardware mapper takes) or a `RunResult` (per-step outputs)."""
    n = sum(p.n for p in network.populations)
    if activity is None:
        return 1.0
    if isinstance(activity, SimulationResult):
        return hardware.rates_from_spikes(network.synapse_graph(), activity)
    if isinstance(activity, RunResult):
        parts = []
        for pop in network.populations:  # loop over populations
            if pop.name not in activity.outputs:
                raise ValueError(
                    f"`activity`: the run did not record population `{pop.name}`; run with record=True."
                )
            counts = np.asarray(activity.outputs[pop.name]).sum(axis=0)
            parts.append(counts / (float(activity.duration) * 1e-3))
        return np.concatenate(parts)
    rates = np.asarray(activity, float)
    if rates.shape != (n,):
        raise ValueError(
            f"`activity` must be None, a simulation result or per-neuron rates of shape ({n},) "
            f"(Hz, populations in network order); got shape {rates.shape}."
        )
    return rates
