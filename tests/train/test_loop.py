"""Tests of `brainsim/train/loop.py`: `fit` learns, equals a hand-written loop from the same
pieces, stops early, and refuses bad data."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest

from brainsim.train import EarlyStopping, LeakyReadout, SpikingLayer, fit, make_step, minibatches, stack

T, N_IN, N_SAMPLES = 20, 10, 64


def _task():
    """Two classes: class 0 drives inputs 0-4 at 40% per step, class 1 inputs 5-9."""
    labels = jnp.arange(N_SAMPLES) % 2
    p = jnp.where((jnp.arange(N_IN) < 5)[None, :] == (labels == 0)[:, None], 0.4, 0.02)
    x = (jr.uniform(jr.key(0), (N_SAMPLES, T, N_IN)) < p[:, None, :]).astype(jnp.float32)
    return x, labels


def _model():
    return stack(SpikingLayer(N_IN, 16, key=jr.key(1)), LeakyReadout(16, 2, key=jr.key(2)))


def loss_fn(model, x, y):
    logits = model(x, batch_first=True).mean(axis=1)
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    return loss, {"accuracy": jnp.mean(jnp.argmax(logits, -1) == y)}


def test_fit_learns_and_records_history():
    x, y = _task()
    model, history = fit(
        _model(),
        loss_fn,
        optax.adam(1e-1),
        (x, y),
        epochs=6,
        batch_size=16,
        key=jr.key(3),
        eval_data=(x, y),
        progress=False,
    )
    assert set(history) == {"loss", "accuracy", "eval_loss", "eval_accuracy"}
    assert all(len(v) == 6 for v in history.values())
    assert history["eval_loss"][-1] < 0.7 * history["eval_loss"][0]
    assert history["eval_accuracy"][-1] >= 0.9
    final, _ = loss_fn(model, x, y)
    np.testing.assert_allclose(float(final), history["eval_loss"][-1], rtol=1e-5)


def test_fit_equals_a_hand_written_loop():
    x, y = _task()
    optimizer = optax.adam(1e-2)
    fitted, _ = fit(
        _model(), loss_fn, optimizer, (x, y), epochs=2, batch_size=16, key=jr.key(3), progress=False
    )

    model = _model()
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))
    step = make_step(loss_fn, optimizer)
    for epoch in range(2):
        for xb, yb in minibatches((x, y), 16, key=jr.fold_in(jr.key(3), epoch)):
            model, opt_state, loss, aux = step(model, opt_state, xb, yb)
    for a, b in zip(
        jax.tree.leaves(eqx.filter(fitted, eqx.is_inexact_array)),
        jax.tree.leaves(eqx.filter(model, eqx.is_inexact_array)),
        strict=True,
    ):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_early_stopping_stops_and_restores():
    x, y = _task()
    # a zero learning rate: the monitored loss never improves after the first epoch
    _, history = fit(
        _model(),
        loss_fn,
        optax.sgd(0.0),
        (x, y),
        epochs=10,
        batch_size=32,
        key=jr.key(0),
        eval_data=(x, y),
        early_stopping=EarlyStopping(patience=2),
        progress=False,
    )
    assert len(history["loss"]) == 3


def test_fit_accepts_a_list_of_batches_and_shows_a_bar(capsys):
    x, y = _task()
    batches = [(x[:32], y[:32]), (x[32:], y[32:])]
    _, history = fit(_model(), lambda m, a, b: loss_fn(m, a, b)[0], optax.adam(1e-2), batches, epochs=2)
    assert list(history) == ["loss"] and len(history["loss"]) == 2
    assert "epoch" in capsys.readouterr().err


@pytest.mark.parametrize(
    "data, kwargs, match",
    [
        ((np.zeros((0, T, N_IN), np.float32), np.zeros(0, np.int32)), {"batch_size": 4}, "empty"),
        (
            (np.zeros((8, T, N_IN), np.float32), np.zeros(7, np.int32)),
            {"batch_size": 4},
            "8 inputs but 7 targets",
        ),
        (
            (np.zeros((8, T, N_IN), np.float32), np.zeros(8, np.int32)),
            {"batch_size": 16},
            "exceeds the 8 samples",
        ),
        ((np.zeros((8, T, N_IN), np.float32), np.zeros(8, np.int32)), {}, "needs `batch_size`"),
        ([], {}, "no batches"),
    ],
)
def test_fit_refuses_bad_data(data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit(_model(), loss_fn, optax.adam(1e-2), data, key=jr.key(0), progress=False, **kwargs)


def test_integer_inputs_are_refused_before_compiling():
    x, y = _task()
    with pytest.raises(TypeError, match="floating point"):
        fit(
            _model(),
            loss_fn,
            optax.adam(1e-2),
            (x.astype(jnp.int32), y),
            batch_size=16,
            key=jr.key(0),
            progress=False,
        )
