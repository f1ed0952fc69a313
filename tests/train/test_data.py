"""Tests of `brainsim/train/data.py` (encoders, digits, SHD and N-MNIST readers) and of
`brainsim/train/tasks.py` (synthetic tasks)."""

import h5py
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from brainsim.train.data import (
    EventSamples,
    digits_dataset,
    latency_spikes,
    poisson_spikes,
    read_nmnist,
    read_nmnist_dir,
    read_shd,
)
from brainsim.train.tasks import adding_task, cue_accumulation, delayed_xor

# ---------------------------------------------------------------- encoders


def test_poisson_spikes_rate_matches_probability_per_step():
    rates = jnp.array([0.0, 50.0, 200.0, 1000.0])  # Hz
    spikes = poisson_spikes(jnp.broadcast_to(rates, (500, 4)), 200, dt=1.0, key=jr.key(0))
    assert spikes.shape == (200, 500, 4) and spikes.dtype == jnp.float32
    assert set(np.unique(np.asarray(spikes)).tolist()) <= {0.0, 1.0}
    p = np.asarray(spikes).mean(axis=(0, 1))  # 100000 Bernoulli draws per rate
    np.testing.assert_allclose(p, [0.0, 0.05, 0.2, 1.0], atol=0.005)
    with pytest.raises(ValueError, match="spike probability 2 > 1 per step"):
        poisson_spikes(jnp.array([400.0]), 10, dt=5.0, key=jr.key(0))
    with pytest.raises(ValueError, match="`rates_hz` must be >= 0 Hz"):
        poisson_spikes(jnp.array([-1.0]), 10, dt=1.0, key=jr.key(0))


def test_latency_spikes_follow_the_stated_formula():
    tau, theta, dt = 20.0, 0.2, 0.5
    x = np.array([1.0, 0.7, 0.3, 0.21, 0.2, 0.0])
    spikes = np.asarray(latency_spikes(jnp.asarray(x), 200, dt=dt, tau=tau, theta=theta))
    assert spikes.shape == (200, 6)
    assert np.all(spikes.sum(axis=0) == [1, 1, 1, 1, 0, 0])  # none at or below threshold
    t = tau * np.log(x[:4] / (x[:4] - theta))
    np.testing.assert_array_equal(np.argmax(spikes[:, :4], axis=0), np.floor(t / dt).astype(int))
    assert np.all(np.diff(np.argmax(spikes[:, :4], axis=0)) > 0)  # brighter is earlier
    short = np.asarray(latency_spikes(jnp.asarray(x), 20, dt=dt, tau=tau, theta=theta))  # 10 ms
    assert short.sum(axis=0)[3] == 0  # x = 0.21 spikes at 61 ms: outside the window


def test_digits_dataset_encodings():
    pytest.importorskip("sklearn", reason="digits_dataset needs scikit-learn (dev dependency)")
    from sklearn.datasets import load_digits

    images = load_digits().data / 16.0
    spikes, labels = digits_dataset(encoding="poisson", n_steps=50, dt=1.0, key=jr.key(1), max_rate_hz=200.0)
    assert spikes.shape == (50, 1797, 64) and labels.shape == (1797,) and labels.dtype == jnp.int32
    assert np.all(np.bincount(np.asarray(labels)) >= 170)  # ~180 per digit
    rate = np.asarray(spikes).mean(axis=0)  # per step, so x * 0.2
    assert np.all(rate[images == 0] == 0)
    np.testing.assert_allclose(rate.mean(axis=0), 0.2 * images.mean(axis=0), atol=0.01)
    latency, _ = digits_dataset(encoding="latency", n_steps=40, dt=1.0)  # x = 4/16 fires at 32.2 ms
    first = np.asarray(latency).argmax(axis=0)
    assert np.all(np.asarray(latency).sum(axis=0) == (images > 0.2))  # one spike above threshold
    assert np.all(first[images == 1.0] == 4)  # 20 ms * log(1 / 0.8) = 4.46 ms -> step 4
    with pytest.raises(ValueError, match="needs a `key`"):
        digits_dataset(encoding="poisson", n_steps=5)


# ---------------------------------------------------------------- SHD / SSC


def _write_shd(path, times_s, units, labels, *, skip=None):
    with h5py.File(path, "w") as f:
        t = f.create_dataset("spikes/times", (len(times_s),), dtype=h5py.vlen_dtype(np.float32))
        u = f.create_dataset("spikes/units", (len(units),), dtype=h5py.vlen_dtype(np.uint16))
        for i, (ti, ui) in enumerate(zip(times_s, units, strict=True)):
            t[i], u[i] = np.asarray(ti, np.float32), np.asarray(ui, np.uint16)
        f.create_dataset("labels", data=np.asarray(labels, np.uint16))
        f.create_dataset("extra/speaker", data=np.zeros(len(labels), np.uint16))
        if skip is not None:
            del f[skip]


def test_read_shd_round_trips_and_rasterises(tmp_path):
    times = [[0.0005, 0.0012, 0.0012, 0.25], [0.9005], []]  # seconds (float32 in the file)
    units = [[3, 699, 699, 0], [42], []]
    _write_shd(tmp_path / "shd.h5", times, units, [7, 19, 0])
    data = read_shd(tmp_path / "shd.h5")
    assert isinstance(data, EventSamples) and len(data) == 3 and data.n_units == 700
    np.testing.assert_array_equal(data.labels, [7, 19, 0])
    np.testing.assert_allclose(data.times[0], [0.5, 1.2, 1.2, 250.0], rtol=1e-6)  # ms
    np.testing.assert_array_equal(data.units[0], [3, 699, 699, 0])
    assert data.times[2].size == 0
    raster = data.to_raster(100, 1.0)  # 100 ms: the 250 ms and 900 ms events fall outside
    assert raster.shape == (100, 3, 700)
    assert raster[0, 0, 3] == 1 and raster[1, 0, 699] == 2 and raster.sum() == 3
    full = data.to_raster(1000, 1.0, samples=np.array([1]))
    assert full.shape == (1000, 1, 700) and full[900, 0, 42] == 1 and full.sum() == 1
    with pytest.raises(ValueError, match="empty batch"):
        data.to_raster(10, 1.0, samples=slice(0, 0))


def test_read_shd_errors_name_the_file_and_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.h5"):
        read_shd(tmp_path / "missing.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(ValueError, match=r"text\.h5.*not a readable HDF5 file"):
        read_shd(tmp_path / "text.h5")
    _write_shd(tmp_path / "nolabels.h5", [[0.1]], [[1]], [0], skip="labels")
    with pytest.raises(ValueError, match=r"nolabels\.h5.*not an SHD/SSC file.*`labels`"):
        read_shd(tmp_path / "nolabels.h5")
    _write_shd(tmp_path / "short.h5", [[0.1], [0.2]], [[1], [2]], [0])
    with pytest.raises(ValueError, match=r"short\.h5.*one entry per sample; got 2, 2 and 1"):
        read_shd(tmp_path / "short.h5")
    _write_shd(tmp_path / "ragged.h5", [[0.1, 0.2]], [[1]], [0])
    with pytest.raises(ValueError, match=r"ragged\.h5.*sample 0 has 2 times but 1 units"):
        read_shd(tmp_path / "ragged.h5")
    _write_shd(tmp_path / "units.h5", [[0.1]], [[700]], [0])
    with pytest.raises(ValueError, match=r"units\.h5.*units outside \[0, 700\)"):
        read_shd(tmp_path / "units.h5")


# ---------------------------------------------------------------- N-MNIST


def _nmnist_bytes(x, y, p, t_us):
    """Pack events as 40-bit words, written out bit by bit from the format's description."""
    out = bytearray()
    for xi, yi, pi, ti in zip(x, y, p, t_us, strict=True):
        word = (xi << 32) | (yi << 24) | (pi << 23) | ti
        out += word.to_bytes(5, "big")
    return bytes(out)


EVENTS = dict(x=[0, 33, 5, 17], y=[0, 33, 30, 2], p=[1, 0, 1, 0], t_us=[0, 1500, 1500, 2**23 - 1])


def test_read_nmnist_round_trips(tmp_path):
    (tmp_path / "a.bin").write_bytes(_nmnist_bytes(**EVENTS))
    events = read_nmnist(tmp_path / "a.bin")
    np.testing.assert_array_equal(events.x, EVENTS["x"])
    np.testing.assert_array_equal(events.y, EVENTS["y"])
    np.testing.assert_array_equal(events.polarity, EVENTS["p"])
    np.testing.assert_allclose(events.t, np.array(EVENTS["t_us"]) / 1000.0)  # ms; the 23-bit maximum too
    (tmp_path / "empty.bin").write_bytes(b"")
    assert read_nmnist(tmp_path / "empty.bin").t.size == 0


def test_read_nmnist_dir_labels_and_units(tmp_path):
    for digit, name, ev in [
        (3, "00001.bin", EVENTS),
        (0, "00002.bin", dict(x=[1], y=[2], p=[1], t_us=[999])),
    ]:
        (tmp_path / str(digit)).mkdir()
        (tmp_path / str(digit) / name).write_bytes(_nmnist_bytes(**ev))
    data = read_nmnist_dir(tmp_path)
    assert data.n_units == 2312 and len(data) == 2
    np.testing.assert_array_equal(data.labels, [0, 3])  # sorted by label
    assert data.units[0].tolist() == [1 * 1156 + 2 * 34 + 1]
    assert data.units[1].tolist() == [1156, 33 * 34 + 33, 1156 + 30 * 34 + 5, 2 * 34 + 17]
    raster = data.to_raster(3, 1.0)
    assert raster[0, 0, 1 * 1156 + 2 * 34 + 1] == 1 and raster[1, 1, 33 * 34 + 33] == 1 and raster.sum() == 4


def test_read_nmnist_errors_name_the_file_and_the_problem(tmp_path):
    good = _nmnist_bytes(**EVENTS)
    (tmp_path / "cut.bin").write_bytes(good[:-2])
    with pytest.raises(ValueError, match=r"cut\.bin.*18 bytes is not a whole number of 5-byte"):
        read_nmnist(tmp_path / "cut.bin")
    (tmp_path / "addr.bin").write_bytes(_nmnist_bytes([1, 40], [1, 1], [0, 0], [0, 1]))
    with pytest.raises(ValueError, match=r"addr\.bin.*event 1 has address \(x=40, y=1\) outside the 34x34"):
        read_nmnist(tmp_path / "addr.bin")
    (tmp_path / "time.bin").write_bytes(_nmnist_bytes([1, 1], [1, 1], [0, 0], [500, 20]))
    with pytest.raises(ValueError, match=r"time\.bin.*timestamps decrease at event 1"):
        read_nmnist(tmp_path / "time.bin")
    with pytest.raises(FileNotFoundError, match="nope.bin"):
        read_nmnist(tmp_path / "nope.bin")
    (tmp_path / "split").mkdir()
    with pytest.raises(ValueError, match="no `<digit>/\\*.bin` files"):
        read_nmnist_dir(tmp_path / "split")


# ---------------------------------------------------------------- synthetic tasks


def test_delayed_xor_is_balanced_and_encodes_the_bits():
    inputs, labels = jax.jit(delayed_xor, static_argnums=1)(jr.key(2), 4000)
    assert inputs.shape == (70, 4000, 3) and labels.dtype == jnp.int32
    assert abs(float(labels.mean()) - 0.5) < 0.03
    # at p = 1 per step (1000 Hz at 1 ms) the windows are exact: decode the bits from the input
    exact, labels = delayed_xor(jr.key(3), 64, cue_steps=3, delay_steps=4, response_steps=2, rate_hz=1000.0)
    x = np.asarray(exact)
    a, b = x[:3, :, 1].mean(axis=0), x[7:10, :, 1].mean(axis=0)  # channel 1 on <=> bit 1
    assert np.all((x[:3, :, 0] + x[:3, :, 1]) == 1) and np.all(x[3:7, :, :2] == 0)
    np.testing.assert_array_equal(np.asarray(labels), np.logical_xor(a, b).astype(int))
    assert np.all(x[14:, :, 2] == 1) and np.all(x[:14, :, 2] == 0)  # the go cue
    assert len({(int(i), int(j)) for i, j in zip(a, b, strict=True)}) == 4  # all four cases occur
    with pytest.raises(ValueError, match="`batch` must be >= 1"):
        delayed_xor(jr.key(0), 0)


def test_adding_task_target_is_the_marked_sum_exactly():
    inputs, targets = adding_task(jr.key(4), 256, n_steps=40)
    x = np.asarray(inputs)
    values, markers = x[..., 0], x[..., 1]
    assert np.all(markers.sum(axis=0) == 2)
    assert np.all(markers[:20].sum(axis=0) == 1) and np.all(markers[20:].sum(axis=0) == 1)  # one per half
    assert np.all((values >= 0) & (values < 1))
    np.testing.assert_array_equal(np.asarray(targets), (values * markers).sum(axis=0, dtype=np.float32))
    assert abs(float(targets.mean()) - 1.0) < 0.1  # two U[0, 1) values
    with pytest.raises(ValueError, match="`n_steps` must be >= 2"):
        adding_task(jr.key(0), 4, n_steps=1)


def test_cue_accumulation_is_balanced_and_the_label_is_the_majority_side():
    kw = dict(n_cues=5, cue_steps=4, gap_steps=2, delay_steps=6, recall_steps=3, n_per_group=2)
    # one compiled program: the sizes are the same in each call, the rates are traced
    inputs, labels = cue_accumulation(jr.key(6), 2000, rate_hz=1000.0, noise_hz=0.0, **kw)
    assert abs(float(labels.mean()) - 0.5) < 0.04
    x = np.asarray(inputs)
    assert x.shape == (5 * 6 + 6 + 3, 2000, 8)
    # at p = 1 per step the cues are exact: count them from the first step of each cue
    left_cues = x[:30, :, 0].reshape(5, 6, 2000)[:, 0].sum(axis=0)
    right_cues = x[:30, :, 2].reshape(5, 6, 2000)[:, 0].sum(axis=0)
    assert np.all(left_cues + right_cues == 5)
    assert np.all(x[:30].reshape(5, 6, 2000, 8)[:, 4:, :, :4] == 0)  # silent gaps
    np.testing.assert_array_equal(np.asarray(labels), (right_cues > left_cues).astype(int))
    assert np.all(x[36:, :, 4:6] == 1) and np.all(x[:36, :, 4:6] == 0)  # recall
    assert np.all(x[..., 6:] == 0)  # no noise at 0 Hz
    noisy, _ = cue_accumulation(jr.key(7), 2000, noise_hz=50.0, **kw)
    noise = np.asarray(noisy)[..., 6:]
    assert abs(noise.mean() - 0.05) < 0.005 and not np.all(noise[:, 0] == noise[:, 1])  # independent samples
    with pytest.raises(ValueError, match="`n_cues` must be odd"):
        cue_accumulation(jr.key(0), 4, n_cues=4)
    with pytest.raises(ValueError, match="`rate_hz` must be >= 0 Hz"):
        cue_accumulation(jr.key(0), 4, rate_hz=2000.0)
