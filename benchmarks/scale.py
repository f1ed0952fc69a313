"""The scale ladder of COBA (fixed in-degree 80) on this machine: one JSON line per size.

    python benchmarks/scale.py [--quick]

Runs `benchmarks/coba.py` in a fresh subprocess per size, so each line's `peak_rss_mb` is that
size's own peak: explicit synapses at N = 4,000 (p = 0.02), 40,000, 400,000 and 1,000,000;
procedural (seed-regenerated) synapses at 1,000,000 and 10,000,000. Large sizes run shorter
biological durations (`run_s_per_bio_s` normalises). `--quick` stops at 400,000 / 1,000,000.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

COBA = Path(__file__).resolve().parent / "coba.py"
# (n, in-degree or None for p = 0.02, procedural, biological seconds)
LADDER = [
    (4_000, None, False, 1.0),
    (40_000, 80, False, 1.0),
    (400_000, 80, False, 0.2),
    (1_000_000, 80, False, 0.1),
    (1_000_000, 80, True, 0.1),
    (10_000_000, 80, True, 0.02),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="only up to 400k explicit, 1M procedural")
    args = parser.parse_args()
    for n, in_degree, procedural, duration in LADDER:
        if args.quick and n > (1_000_000 if procedural else 400_000):
            continue
        command = [sys.executable, str(COBA), "--n", str(n), "--duration", str(duration)]
        command += ["--in-degree", str(in_degree)] if in_degree else []
        command += ["--procedural"] if procedural else []
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(
                json.dumps(
                    {
                        "n": n,
                        "procedural": procedural,
                        "status": "failed",
                        "detail": done.stderr.strip().splitlines()[-1:],
                    }
                ),
                flush=True,
            )
            continue
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["run_s_per_bio_s"] = round(result["run_s"] / duration, 3)
        result["bytes_per_synapse"] = round(result["connectivity_bytes"] / result["synapses"], 3)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
