"""Tests of `brainsim/io/checkpoint.py` and of `simulate`'s `checkpoint_every`/`resume_from`."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import textwrap

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np
import pytest

import brainsim as bs
from brainsim.io._manifest import FileFormatError
from brainsim.io._periodic import RunCheckpoints
from brainsim.io.checkpoint import Checkpoint, load_checkpoint, load_network, save_checkpoint, save_network

NET_KEY, RUN_KEY = jr.key(1), jr.key(3)
DURATION = 24.0  # ms: 240 steps, checkpoints every 40
EVERY = 4.0


class Crash(Exception):
    """Stands for the process dying right after a checkpoint."""


def _network(n=200, key=NET_KEY, **kwargs):
    return bs.models.COBANetwork(n=n, key=key, **kwargs)


def _kwargs(engine):
    # monitors exist in the generic engine only; there they check that traces resume too
    monitors = [bs.StateMonitor("E", "v", indices=[0, 5], every=3)] if engine == "generic" else []
    # one chunk length throughout (results do not depend on it): each engine compiles once
    return {"key": RUN_KEY, "engine": engine, "monitors": monitors, "chunk_steps": 40}


def _assert_same_run(a: bs.SimulationResult, b: bs.SimulationResult):
    """Bit for bit: spikes, counts, traces, overflow and every leaf of the final state."""
    assert (a.n_steps, a.start_time, a.overflow) == (b.n_steps, b.start_time, b.overflow)
    for field in ("counts", "spike_steps", "spike_indices", "trace_samples", "value_samples"):
        x, y = getattr(a, field), getattr(b, field)
        assert x.keys() == y.keys()
        for name in x:
            np.testing.assert_array_equal(x[name], y[name], err_msg=f"{field}[{name}]")
    leaves_a, tree_a = jtu.tree_flatten(a.final_state)
    leaves_b, tree_b = jtu.tree_flatten(b.final_state)
    assert tree_a == tree_b
    for x, y in zip(leaves_a, leaves_b, strict=True):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)


def _crash_after(monkeypatch, saves: int):
    """Make the `saves`-th checkpoint of the next run the last: the run dies right after it."""
    original, count = RunCheckpoints.save, [0]

    def save(self, state, done):
        original(self, state, done)
        count[0] += 1
        if count[0] == saves:
            raise Crash(done)

    monkeypatch.setattr(RunCheckpoints, "save", save)


def _interrupted(tmp_path, monkeypatch, net, saves=2, **kwargs) -> pathlib.Path:
    """A run of `net` with checkpoints that dies after `saves` of them; its directory."""
    directory = tmp_path / "ckpt"
    with monkeypatch.context() as patch:
        _crash_after(patch, saves)
        with pytest.raises(Crash):
            bs.simulate(net, DURATION, checkpoint_every=EVERY, checkpoint_dir=directory, **kwargs)
    return directory


@pytest.mark.parametrize("engine", ["generic", "fused"])
def test_resumed_run_equals_uninterrupted_run(tmp_path, monkeypatch, engine):
    net = _network()
    whole = bs.simulate(net, DURATION, **_kwargs(engine))
    assert len(whole.spikes["E"].times) > 20  # there are spikes to get wrong
    directory = _interrupted(tmp_path, monkeypatch, net, **_kwargs(engine))
    assert load_checkpoint(directory, like=net).step == 80  # two checkpoints of 40 steps
    resumed = bs.simulate(net, DURATION, resume_from=directory, **_kwargs(engine))
    _assert_same_run(whole, resumed)
    if engine == "generic":
        assert resumed.traces["E.v"].shape == (80, 2)
    # resuming into the same directory keeps checkpointing; the last one covers the whole run
    again = bs.simulate(
        net,
        DURATION,
        resume_from=directory,
        checkpoint_every=EVERY,
        checkpoint_dir=directory,
        **_kwargs(engine),
    )
    _assert_same_run(whole, again)
    final = load_checkpoint(directory, like=net)
    assert final.step == 240 and final.run_duration == pytest.approx(DURATION)
    _assert_same_run(whole, final.result)
    names = sorted(p.name for p in directory.iterdir())
    assert len([n for n in names if n.startswith("records-")]) == 6 and names[0] == "manifest.json"
    assert len([n for n in names if n.startswith("state-")]) == 1  # older states are removed


@pytest.mark.parametrize("engine", ["generic", "fused"])
def test_load_checkpoint_then_continue_equals_uninterrupted_run(tmp_path, monkeypatch, engine):
    net = _network()
    whole = bs.simulate(net, DURATION, **_kwargs(engine))
    directory = _interrupted(tmp_path, monkeypatch, net, saves=3, **_kwargs(engine))
    checkpoint = load_checkpoint(directory, like=net)
    assert isinstance(checkpoint, Checkpoint) and checkpoint.step == 120
    assert jnp.array_equal(jr.key_data(checkpoint.key), jr.key_data(RUN_KEY))
    for x, y in zip(jtu.tree_leaves(checkpoint.network), jtu.tree_leaves(net), strict=True):
        np.testing.assert_array_equal(x, y)
    left = checkpoint.run_duration - checkpoint.result.duration
    rest = bs.simulate(
        net,
        left,
        key=checkpoint.key,
        engine=engine,
        initial_state=checkpoint.state,
        monitors=_kwargs(engine)["monitors"],
        chunk_steps=40,
    )
    done = checkpoint.result
    for name in ("E", "I"):  # steps of `rest` count from its own start, 120 steps in
        steps = np.concatenate([done.spike_steps[name], rest.spike_steps[name] + 120])
        np.testing.assert_array_equal(steps, whole.spike_steps[name])
        indices = np.concatenate([done.spike_indices[name], rest.spike_indices[name]])
        np.testing.assert_array_equal(indices, whole.spike_indices[name])
        counts = np.concatenate([done.spike_counts[name], rest.spike_counts[name]])
        np.testing.assert_array_equal(counts, whole.spike_counts[name])
    if engine == "generic":
        np.testing.assert_array_equal(
            np.concatenate([done.traces["E.v"], rest.traces["E.v"]]), whole.traces["E.v"]
        )
    for x, y in zip(jtu.tree_leaves(rest.final_state), jtu.tree_leaves(whole.final_state), strict=True):
        np.testing.assert_array_equal(x, y)


_CHILD = """
import sys, time
import jax.random as jr
import brainsim as bs
from brainsim.io._periodic import RunCheckpoints

original = RunCheckpoints.save
def save(self, state, done):  # a long run: lots of time passes between checkpoints
    original(self, state, done)
    print(done, flush=True)
    time.sleep(30.0)
RunCheckpoints.save = save
net = bs.models.COBANetwork(n=200, key=jr.key(1))
bs.simulate(
    net, {duration}, key=jr.key(3), engine="fused", chunk_steps=40, checkpoint_every={every},
    checkpoint_dir=sys.argv[1],
)
"""


def test_killed_process_resumes_from_its_last_checkpoint(tmp_path):
    directory = tmp_path / "ckpt"
    script = textwrap.dedent(_CHILD.format(duration=DURATION, every=EVERY))
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(directory)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        announced = child.stdout.readline()  # printed after the first checkpoint is committed
        assert announced.strip() == "40", child.stderr.read() if child.poll() is not None else announced
        child.send_signal(signal.SIGKILL)  # mid-run: the next checkpoint is 40 steps away
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    net = _network()
    checkpoint = load_checkpoint(directory, like=net)
    assert checkpoint.step == 40  # lost: at most the one interval since
    resumed = bs.simulate(net, DURATION, **_kwargs("fused"), resume_from=directory)
    _assert_same_run(bs.simulate(net, DURATION, **_kwargs("fused")), resumed)


def test_checkpoints_fall_on_chunk_boundaries_whatever_chunk_steps(tmp_path, monkeypatch):
    net = _network()
    whole = bs.simulate(net, DURATION, **_kwargs("fused"))
    # the directory holds an older checkpoint, leftovers of a killed save, and a file of the user's
    save_network(_network(n=100), tmp_path)
    old_network = _payload(tmp_path, "network-").name
    for name in ("network-new.eqx", ".tmp-state-x.eqx-123", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    steps = []
    original = RunCheckpoints.save
    monkeypatch.setattr(
        RunCheckpoints, "save", lambda self, s, done: (steps.append(done), original(self, s, done))
    )
    result = bs.simulate(
        net,
        DURATION,
        **(_kwargs("fused") | {"chunk_steps": 10}),
        checkpoint_every=2.5,
        checkpoint_dir=tmp_path,
    )
    assert steps == [25, 50, 75, 100, 125, 150, 175, 200, 225]  # every 2.5 ms, though chunks are 10 steps
    _assert_same_run(whole, result)
    names = {p.name for p in tmp_path.iterdir()}
    assert "notes.txt" in names and not names & {old_network, "network-new.eqx", ".tmp-state-x.eqx-123"}
    assert load_checkpoint(tmp_path, like=net).step == 225


@pytest.mark.parametrize("failing", ["state payload", "record segment", "manifest rename"])
def test_failed_save_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch, failing):
    net = _network()
    directory = _interrupted(tmp_path, monkeypatch, net, saves=2, **_kwargs("fused"))
    before = {p.name: p.read_bytes() for p in directory.iterdir()}

    def broken_serialise(file, tree):
        file.write(b"\x93NUMPY partial")
        raise OSError("disk full")

    def broken_savez(file, **arrays):
        file.write(b"PK partial")
        raise OSError("disk full")

    real_replace = os.replace

    def broken_replace(src, dst):
        if pathlib.Path(dst).name == "manifest.json":
            raise OSError("disk full")
        real_replace(src, dst)

    with monkeypatch.context() as patch:
        if failing == "state payload":
            patch.setattr(eqx, "tree_serialise_leaves", broken_serialise)
        elif failing == "record segment":
            patch.setattr(np, "savez", broken_savez)
        else:
            patch.setattr(os, "replace", broken_replace)
        with pytest.raises(OSError, match="disk full"):
            bs.simulate(
                net,
                DURATION,
                **_kwargs("fused"),
                resume_from=directory,
                checkpoint_every=EVERY,
                checkpoint_dir=directory,
            )
    after = {p.name: p.read_bytes() for p in directory.iterdir()}
    for name, data in before.items():
        assert after[name] == data, name  # nothing the manifest names was touched
    assert not [p for p in directory.iterdir() if p.name.startswith(".tmp-")]  # cleaned up
    assert load_checkpoint(directory, like=net).step == 80
    resumed = bs.simulate(net, DURATION, **_kwargs("fused"), resume_from=directory)
    _assert_same_run(bs.simulate(net, DURATION, **_kwargs("fused")), resumed)


def _payload(directory: pathlib.Path, prefix: str) -> pathlib.Path:
    return next(p for p in directory.iterdir() if p.name.startswith(prefix))


@pytest.mark.parametrize(
    "damage, message",
    [
        ("truncate state", r"`state-.*\.eqx` has \d+ bytes, its manifest says \d+ \(truncated"),
        ("flip records", r"`records-.*\.npz` does not match its sha256 checksum \(corrupted\)"),
        ("flip network", r"`network-.*\.eqx` does not match its sha256 checksum \(corrupted\)"),
        ("delete state", r"its file `state-.*\.eqx` is missing"),
        ("truncate manifest", r"is not valid JSON \(truncated or corrupted"),
        (
            "format version",
            r"has format version 2; this brainsim .* reads brainsim-checkpoint format version 1",
        ),
        ("other format", r"is not a brainsim-checkpoint file \(format 'something-else'\)"),
    ],
)
def test_damaged_checkpoint_is_refused(tmp_path, monkeypatch, damage, message):
    net = _network()
    directory = _interrupted(tmp_path, monkeypatch, net, saves=2, **_kwargs("fused"))
    manifest = directory / "manifest.json"
    if damage == "truncate state":
        path = _payload(directory, "state-")
        path.write_bytes(path.read_bytes()[:-7])
    elif damage.startswith("flip"):
        path = _payload(directory, "records-" if damage == "flip records" else "network-")
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
    elif damage == "delete state":
        _payload(directory, "state-").unlink()
    elif damage == "truncate manifest":
        manifest.write_bytes(manifest.read_bytes()[:100])
    else:
        content = json.loads(manifest.read_text())
        if damage == "format version":
            content["format_version"] = 2
        else:
            content["format"] = "something-else"
        manifest.write_text(json.dumps(content))
    with pytest.raises(FileFormatError, match=message):
        load_checkpoint(directory, like=net)
    with pytest.raises(FileFormatError, match=message):
        bs.simulate(net, DURATION, **_kwargs("fused"), resume_from=directory)


def test_checkpoint_of_another_network_names_what_differs(tmp_path, monkeypatch):
    net = _network()
    directory = _interrupted(tmp_path, monkeypatch, net, saves=1, **_kwargs("fused"))
    with pytest.raises(FileFormatError, match="population `E` has 160 neurons in the checkpoint and 320"):
        load_checkpoint(directory, like=_network(n=400))
    with pytest.raises(FileFormatError, match="population `E` has 160 neurons in the checkpoint and 320"):
        bs.simulate(_network(n=400), DURATION, key=RUN_KEY, resume_from=directory)
    other = _network(key=jr.key(7))  # same sizes, other random connectivity: other shapes
    with pytest.raises(
        FileFormatError, match=r"network leaf `\.projections\[0\]\.connectivity\.indices` has shape \(\d+,\)"
    ):
        load_checkpoint(directory, like=other)
    # same shapes, other values: loading takes the saved values, resuming refuses
    lower = eqx.tree_at(
        lambda n: n.projections[0].connectivity.weights, net, net.projections[0].connectivity.weights * 0.5
    )
    assert (
        load_network(directory, like=lower).projections[0].connectivity.weights
        == net.projections[0].connectivity.weights
    )
    with pytest.raises(
        FileFormatError, match=r"network leaf `\.projections\[0\]\.connectivity\.weights` has other values"
    ):
        bs.simulate(lower, DURATION, **_kwargs("fused"), resume_from=directory)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"key": jr.key(4)}, "`key` differs from the key of the checkpointed run"),
        (
            {"duration": 30.0},
            r"`duration` differs from the checkpointed run's: 240 steps there, 300 steps now",
        ),
        ({"dt": 0.05}, r"`dt` differs from the checkpointed run's: 0.1 ms there, 0.05 ms now"),
        ({"record_spikes": ("E",)}, r"`record_spikes` differs from the checkpointed run's"),
        ({"monitors": ["E.v"]}, r"`monitors` differs from the checkpointed run's"),
    ],
)
def test_resuming_another_call_is_refused(tmp_path, monkeypatch, change, message):
    net = _network()
    directory = _interrupted(tmp_path, monkeypatch, net, saves=1, **_kwargs("generic"))
    arguments = {"duration": DURATION, **_kwargs("generic")} | change
    with pytest.raises(ValueError, match=message):
        bs.simulate(net, resume_from=directory, **arguments)


def test_bad_checkpoint_arguments_name_the_argument(tmp_path):
    net = _network(n=50)
    with pytest.raises(ValueError, match="`checkpoint_every` needs `checkpoint_dir`"):
        bs.simulate(net, 2.0, **_kwargs("fused"), checkpoint_every=1.0)
    with pytest.raises(ValueError, match="`checkpoint_dir` needs `checkpoint_every`"):
        bs.simulate(net, 2.0, **_kwargs("fused"), checkpoint_dir=tmp_path)
    with pytest.raises(
        ValueError, match=r"`checkpoint_every` must be a positive multiple of `dt` \(0.1 ms\)"
    ):
        bs.simulate(net, 2.0, **_kwargs("fused"), checkpoint_every=0.25, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="`checkpoint_every` must be a positive multiple"):
        bs.simulate(net, 2.0, **_kwargs("fused"), checkpoint_every=-1.0, checkpoint_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="`resume_from`: no checkpoint directory"):
        bs.simulate(net, 2.0, **_kwargs("fused"), resume_from=tmp_path / "nothing")
    with pytest.raises(FileNotFoundError, match="`resume_from`.*no file"):
        bs.simulate(net, 2.0, **_kwargs("fused"), resume_from=tmp_path)  # a directory, but no manifest
    state = net.init_state(key=jr.key(0))
    save_checkpoint(tmp_path / "manual", network=net, state=state, key=RUN_KEY)
    with pytest.raises(ValueError, match="`resume_from`: .* was written by `save_checkpoint`"):
        bs.simulate(net, 2.0, **_kwargs("fused"), resume_from=tmp_path / "manual")
    with pytest.raises(ValueError, match=r"`state\.populations\['E'\]\.neuron\.v` has shape \(40,\)"):
        save_checkpoint(tmp_path / "x", network=_network(n=60), state=state, key=RUN_KEY)
    with pytest.raises(TypeError, match="`key`|parameter 'key'"):  # ours, or the annotation checker's
        save_checkpoint(tmp_path / "x", network=net, state=state, key=jnp.zeros(3))


def test_save_checkpoint_round_trips_network_state_key_and_records(tmp_path):
    net = _network()
    first = bs.simulate(net, 8.0, **_kwargs("generic"))
    path = save_checkpoint(tmp_path / "c", network=net, state=first.final_state, key=RUN_KEY, result=first)
    checkpoint = load_checkpoint(path, like=net)
    assert checkpoint.step == 80 and checkpoint.run_duration is None
    _assert_same_run(first, checkpoint.result)
    assert checkpoint.result.traces["E.v"].shape == (26, 2)
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["format_version"] == 1 and manifest["step"] == 80
    assert set(manifest["versions"]) >= {"brainsim", "jax", "equinox"}
    assert manifest["key"] == {"impl": "threefry2x32", "data": [0, 3]}
    # a legacy uint32[2] key and no records
    legacy = jr.PRNGKey(5)
    save_checkpoint(path, network=net, state=first.final_state, key=legacy)
    checkpoint = load_checkpoint(path, like=net)
    assert checkpoint.result is None and checkpoint.key.dtype == jnp.uint32
    np.testing.assert_array_equal(checkpoint.key, legacy)
    with pytest.raises(ValueError, match=r"`result` ends at step 80, but `state` is at step 0"):
        save_checkpoint(path, network=net, state=net.init_state(key=jr.key(0)), key=RUN_KEY, result=first)


def test_save_and_load_network(tmp_path):
    net = _network(n=100)
    path = save_network(net, tmp_path / "net")
    rebuilt = _network(n=100, key=jr.key(1))  # the same recipe gives the skeleton
    loaded = load_network(path, like=rebuilt)
    assert jtu.tree_structure(loaded) == jtu.tree_structure(net)
    for x, y in zip(jtu.tree_leaves(loaded), jtu.tree_leaves(net), strict=True):
        np.testing.assert_array_equal(x, y)
    with pytest.raises(FileFormatError, match="holds a network only"):
        load_checkpoint(path, like=net)
    with pytest.raises(FileFormatError, match="population `E` has 80 neurons in the checkpoint and 40"):
        load_network(path, like=_network(n=50))
