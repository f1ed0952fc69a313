"""Tests of `brainsim/io/results.py`: `SimulationResult` to and from `.npz`."""

import json
import zipfile

import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np
import pytest

import brainsim as bs
from brainsim.io._manifest import FileFormatError
from brainsim.io.results import load_result, save_result


def _result(**kwargs):
    """A small COBA run with spikes and a voltage trace."""
    net = bs.models.COBANetwork(n=100, key=jr.key(1))
    monitors = [bs.StateMonitor("E", "v", indices=[0, 3], every=4)]
    return net, bs.simulate(net, 12.0, 0.1, key=jr.key(2), monitors=monitors, **kwargs)


def assert_results_equal(a: bs.SimulationResult, b: bs.SimulationResult, *, state: bool = True):
    """Every field equal, arrays exactly (dtype included)."""
    for field in ("dt", "duration", "n_steps", "start_time", "sizes", "value_every", "trace_every"):
        assert getattr(a, field) == getattr(b, field), field
    assert a.overflow == b.overflow
    for field in ("counts", "spike_steps", "spike_indices", "value_samples", "trace_samples"):
        x, y = getattr(a, field), getattr(b, field)
        assert x.keys() == y.keys(), field
        for name in x:
            assert np.asarray(x[name]).dtype == np.asarray(y[name]).dtype, (field, name)
            np.testing.assert_array_equal(x[name], y[name], err_msg=f"{field}[{name}]")
    for name, record in a.spikes.items():
        np.testing.assert_array_equal(record.times, b.spikes[name].times)
    if state:
        la, ta = jtu.tree_flatten(a.final_state)
        lb, tb = jtu.tree_flatten(b.final_state)
        assert ta == tb
        for x, y in zip(la, lb, strict=True):
            assert x.dtype == y.dtype
            np.testing.assert_array_equal(x, y)


def test_round_trip_is_equal_with_and_without_the_network(tmp_path):
    net, result = _result()
    assert len(result.spikes["E"].times) > 0  # the comparison below compares something
    path = save_result(result, tmp_path / "run.npz")
    assert path == tmp_path / "run.npz"
    back = load_result(path, network=net)
    assert_results_equal(result, back)
    assert back.rates == result.rates
    assert load_result(path).final_state is None
    assert_results_equal(result, load_result(str(path)), state=False)


def test_file_is_plain_numpy_with_times_indices_rates_and_trace_times(tmp_path):
    _, result = _result(record_spikes=("E",))
    save_result(result, tmp_path / "run.npz")
    with np.load(tmp_path / "run.npz", allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["spikes/E/times"], result.spikes["E"].times)
        np.testing.assert_array_equal(npz["spikes/E/indices"], result.spikes["E"].indices)
        assert "spikes/I/times" not in npz.files  # not recorded
        np.testing.assert_array_equal(npz["spike_counts/I"], result.spike_counts["I"])
        assert float(npz["rates/E"]) == result.rates["E"]
        np.testing.assert_array_equal(npz["trace_times/E.v"], result.trace_times("E.v"))
        manifest = json.loads(str(npz["manifest"]))
    assert manifest["format"] == "brainsim-result" and manifest["format_version"] == 1
    assert manifest["dt"] == 0.1 and manifest["sizes"] == [["E", 80], ["I", 20]]


def test_values_of_a_rate_population_round_trip(tmp_path):
    net = bs.Network(
        [bs.Population("R", 3, bs.RateUnit())],
        inputs=[bs.ConstantCurrent("R", 20.0)],
    )
    result = bs.simulate(net, 2.0, 0.1, key=jr.key(0), value_every=3)
    assert result.values["R"].shape == (6, 3)
    save_result(result, tmp_path / "rates.npz")
    back = load_result(tmp_path / "rates.npz", network=net)
    assert_results_equal(result, back)
    np.testing.assert_array_equal(back.value_times(), result.value_times())


def test_a_continued_run_keeps_its_start_time(tmp_path):
    net, first = _result()
    second = bs.simulate(net, 5.0, 0.1, key=jr.key(2), initial_state=first.final_state)
    assert second.start_time == pytest.approx(12.0)
    save_result(second, tmp_path / "second.npz")
    assert_results_equal(second, load_result(tmp_path / "second.npz", network=net))


def test_failed_save_leaves_the_previous_file(tmp_path, monkeypatch):
    _, result = _result()
    path = save_result(result, tmp_path / "run.npz")
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        save_result(result, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.npz"]  # no temporary left


def test_truncated_file_is_refused(tmp_path):
    _, result = _result()
    path = save_result(result, tmp_path / "run.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match="truncated or corrupted"):
        load_result(path)


def test_flipped_byte_in_an_array_is_refused(tmp_path):
    _, result = _result()
    path = save_result(result, tmp_path / "run.npz")
    # rewrite one member with a changed value but a valid zip (as an edit would): the
    # manifest's checksum catches it even though the zip's own CRC is consistent
    with np.load(path, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    arrays["spikes/E/indices"] = arrays["spikes/E/indices"].copy()
    arrays["spikes/E/indices"][0] ^= 1
    np.savez(path, **arrays)
    with pytest.raises(FileFormatError, match="`spikes/E/indices` does not match its checksum"):
        load_result(path)


def test_flipped_byte_in_the_raw_file_is_refused(tmp_path):
    _, result = _result()
    path = save_result(result, tmp_path / "run.npz")
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("spike_counts/E.npy")
    data = bytearray(path.read_bytes())
    data[info.header_offset + 30 + len(info.filename) + 200] ^= 0xFF  # inside the member's data
    path.write_bytes(bytes(data))
    with pytest.raises(FileFormatError):
        load_result(path)


def test_other_format_version_and_other_files_are_refused(tmp_path):
    _, result = _result()
    path = save_result(result, tmp_path / "run.npz")
    with np.load(path, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    manifest = json.loads(str(arrays["manifest"]))
    manifest["format_version"] = 99
    arrays["manifest"] = np.array(json.dumps(manifest))
    np.savez(tmp_path / "future.npz", **arrays)
    with pytest.raises(FileFormatError, match="format version 99"):
        load_result(tmp_path / "future.npz")
    np.savez(tmp_path / "plain.npz", x=np.zeros(3))
    with pytest.raises(FileFormatError, match="no `manifest`"):
        load_result(tmp_path / "plain.npz")
    with pytest.raises(FileNotFoundError, match="`path`"):
        load_result(tmp_path / "missing.npz")


def test_network_of_another_shape_is_refused(tmp_path):
    _, result = _result()
    path = save_result(result, tmp_path / "run.npz")
    other = bs.models.COBANetwork(n=200, key=jr.key(1))
    with pytest.raises(FileFormatError, match=r"`network` has populations \{'E': 160, 'I': 40\}"):
        load_result(path, network=other)


def _names(argument: str) -> str:
    """Our own message (`argument` in backticks), or the test run's annotation checker's,
    which raises first and names the parameter too."""
    return rf"`{argument}` must be|parameter '{argument}'"


def test_bad_arguments_name_the_argument(tmp_path):
    _, result = _result()
    with pytest.raises(TypeError, match=_names("result")):
        save_result({"spikes": []}, tmp_path / "x.npz")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=_names("path")):
        save_result(result, 3)  # type: ignore[arg-type]
    save_result(result, tmp_path / "x.npz")
    with pytest.raises(TypeError, match=_names("network")):
        load_result(tmp_path / "x.npz", network=jnp.zeros(3))  # type: ignore[arg-type]
