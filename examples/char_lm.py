"""Train a character-level EGRU language model on the text shipped with brainsim.

Prints one JSON line: bits per character on held-out text (the last 10% of the file), the
unigram entropy of the text for comparison, and the activity of the EGRU on held-out text
(fraction of units emitting an event per step; sparsity = 1 - activity).

    .venv/bin/python examples/char_lm.py                 # a few minutes on 2 CPU cores
    .venv/bin/python examples/char_lm.py --epochs 1      # a quick look
"""

import argparse
import json
import math
import time

import jax
import jax.numpy as jnp
import jax.random as jr
import optax

import brainsim.train as bst


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hidden", type=int, default=256, help="EGRU units")
    parser.add_argument("--seq-len", type=int, default=64, help="characters per training sequence")
    parser.add_argument("--batch", type=int, default=32, help="sequences per minibatch")
    parser.add_argument("--epochs", type=int, default=30, help="passes over the training text")
    parser.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate")
    parser.add_argument("--threshold", type=float, default=0.1, help="initial EGRU thresholds")
    parser.add_argument(
        "--activity-weight",
        type=float,
        default=0.0,
        help="adds this times the activity (events per unit and step) to the loss: sparser, slightly worse",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--progress", action="store_true", help="show a progress bar")
    args = parser.parse_args()

    text = bst.shakespeare_text()
    split = int(0.9 * len(text))
    indices, alphabet = bst.encode_text(text)
    train = bst.char_sequences(indices[:split], args.seq_len)
    held_out = bst.char_sequences(indices[split:], args.seq_len)
    key_model, key_shuffle = jr.split(jr.key(args.seed))
    model = bst.CharLanguageModel(len(alphabet), args.hidden, key=key_model, threshold=args.threshold)

    def loss_fn(model, inputs, targets):
        loss, metrics = bst.char_lm_loss(model, inputs, targets)
        return loss + args.activity_weight * metrics["activity"], metrics

    start = time.perf_counter()
    model, history = bst.fit(
        model,
        loss_fn,
        optax.adam(args.lr),
        train,
        epochs=args.epochs,
        batch_size=args.batch,
        key=key_shuffle,
        progress=args.progress,
    )
    train_s = time.perf_counter() - start
    loss, metrics = jax.jit(bst.char_lm_loss)(model, jnp.asarray(held_out[0]), jnp.asarray(held_out[1]))
    activity = float(metrics["activity"])
    print(
        json.dumps(
            {
                "benchmark": "char_lm",
                "held_out_bits_per_char": float(loss) / math.log(2.0),
                "train_bits_per_char": history["bits_per_char"][-1],
                "unigram_entropy_bits": bst.unigram_entropy_bits(text),
                "activity": activity,
                "activity_sparsity": 1.0 - activity,
                "activity_weight": args.activity_weight,
                "hidden": args.hidden,
                "epochs": args.epochs,
                "train_s": round(train_s, 1),
                "characters": len(text),
                "alphabet": len(alphabet),
                "jax": jax.__version__,
                "device": jax.devices()[0].platform,
            }
        )
    )


if __name__ == "__main__":
    main()
