"""The periodic checkpoints of one `simulate` run, and resuming from them.

`simulate` calls `RunCheckpoints.save` at chunk boundaries every `checkpoint_every` ms of the
run; each save writes the state, the records made since the previous save, and (at the first
save of a run) the network, then commits a new manifest. `resume` reads a checkpoint back after
checking that the call resuming it is the call that wrote it (same network, key, duration,
`dt`, records, monitors and inputs), so the resumed run is the uninterrupted one.
"""

import hashlib
import pathlib
import uuid
from typing import NamedTuple

import numpy as np

from ..network import Network, NetworkState
from ..result import RecordSegment
from ._directory import commit, load_records, load_state, manifest, read_manifest, write_network, write_state
from ._manifest import FileFormatError
from ._payload import check_network, key_to_json, read_payload
from ._segments import write_segment


def run_settings(
    *, dt: float, n_steps: int, start_step: int, spike_pops, value_pops, value_every: int, monitors, data
) -> dict:
    """What a resumed call must repeat, as the manifest records it (inputs by checksum)."""
    return {
        "dt": dt,
        "n_steps": n_steps,
        "start_step": start_step,
        "record_spikes": list(spike_pops),
        "record_values": list(value_pops),
        "value_every": value_every,
        "monitors": [[m.name, m.every] for m in monitors],
        "inputs": {
            name: hashlib.sha256(np.ascontiguousarray(x).reshape(-1).view(np.uint8)).hexdigest()
            for name, x in data.items()
        },
    }


class Resumed(NamedTuple):
    """A checkpoint read back for `simulate(..., resume_from=...)`."""

    directory: pathlib.Path
    manifest: dict
    state: NetworkState
    segments: list[RecordSegment]
    done: int


_ARGUMENTS = {
    "dt": ("`dt`", "ms"),
    "n_steps": ("`duration`", "steps"),
    "record_spikes": ("`record_spikes`", ""),
    "record_values": ("`record_values`", ""),
    "value_every": ("`value_every`", "steps"),
    "monitors": ("`monitors`", "(name, every)"),
    "inputs": ("`inputs`", "(sha256 per stream)"),
}


def resume(directory: pathlib.Path, network: Network, key, settings: dict, initial_state) -> Resumed:
    """The checkpoint in `directory`, after checking it belongs to this very call."""
    content = read_manifest(directory, "resume_from")
    where = f"checkpoint {directory}"
    run = content["run"]
    if run is None or run.get("n_steps") is None:
        raise ValueError(
            f"`resume_from`: {where} was written by `save_checkpoint`, not by `simulate`; continue "
            "from it with `load_checkpoint(...)` and `simulate(..., initial_state=checkpoint.state)`."
        )
    check_network(content["network"], network, where, values=True, given="`network`")
    read_payload(directory, content["network"], where)  # the saved network file is whole too
    if key_to_json(key) != content["key"]:
        raise ValueError(
            f"`key` differs from the key of the checkpointed run ({content['key']}); resume with the "
            "same key, or the random stream (and the spikes) would not continue."
        )
    for field, (argument, unit) in _ARGUMENTS.items():
        if run[field] != settings[field]:
            raise ValueError(
                f"{argument} differs from the checkpointed run's: {run[field]} {unit} there, "
                f"{settings[field]} {unit} now. Resume with the arguments of the run that wrote "
                f"{where}, or start from `load_checkpoint(...).state` with `initial_state=`."
            )
    if initial_state is not None and int(initial_state.step) != run["start_step"]:
        raise ValueError(
            f"`initial_state` is at step {int(initial_state.step)}, but the checkpointed run started "
            f"at step {run['start_step']}; pass the run's original `initial_state` (or none)."
        )
    state = load_state(directory, content, network)
    segments = load_records(directory, content)
    done = sum(s.n_steps for s in segments)
    step = int(state.step)
    if not segments or done != run["done"] or step != run["start_step"] + done or step != content["step"]:
        raise FileFormatError(
            f"{where}: its state is at step {step}, its records cover {done} steps from step "
            f"{run['start_step']}, its manifest says step {content['step']}: inconsistent."
        )
    return Resumed(directory, content, state, segments, done)


class RunCheckpoints:
    """Writes the checkpoints of one `simulate` run to `directory`, every `every_steps` steps.

    Records made between saves are held (`add`) and written as one segment at the next save;
    resuming into the directory it resumed from appends to that checkpoint's segments.
    """

    def __init__(
        self,
        directory: pathlib.Path,
        network: Network,
        key,
        settings: dict,
        every_steps: int,
        resumed: Resumed | None,
    ):
        directory.mkdir(parents=True, exist_ok=True)
        self.directory, self.network, self.every_steps = directory, network, every_steps
        self.key = key_to_json(key)
        self.settings = settings | {"every_steps": every_steps}
        same = resumed is not None and resumed.directory.resolve() == directory.resolve()
        if same:
            self.token = resumed.manifest["run"]["token"]
            self.records = list(resumed.manifest["records"])
            self.network_entry = resumed.manifest["network"]
            self.pending, self.first = [], resumed.done
        else:
            self.token = uuid.uuid4().hex[:8]
            self.records, self.network_entry = [], None
            self.pending, self.first = ([] if resumed is None else list(resumed.segments)), 0

    def due(self, done: int) -> bool:
        """Whether run step `done` is a checkpoint boundary."""
        return done % self.every_steps == 0

    def add(self, segment: RecordSegment) -> None:
        """Hold the records of the chunk just run until the next save."""
        self.pending.append(segment)

    def save(self, state: NetworkState, done: int) -> None:
        """Checkpoint `state` after `done` steps of the run, with the records held so far."""
        if self.network_entry is None:
            self.network_entry = write_network(self.directory, self.network)
        step = int(state.step)
        records = self.records
        if self.pending:
            name = f"records-{self.token}-{self.first:012d}-{done:012d}.npz"
            segment = RecordSegment.concatenate(self.pending)
            records = records + [write_segment(self.directory, name, segment, self.first)]
        state_entry = write_state(self.directory, f"state-{self.token}-{step:012d}.eqx", state)
        run = self.settings | {"done": done, "token": self.token}
        content = manifest(
            step=step, key=self.key, network=self.network_entry, state=state_entry, records=records, run=run
        )
        commit(self.directory, content)
        self.records, self.pending, self.first = records, [], done
