"""Benchmark results: record the JSON lines of `benchmarks/*.py`, render them as Markdown tables.

    python benchmarks/results/render.py record coba.jsonl -- python benchmarks/coba.py --n 4000 --duration 0.2
    python benchmarks/results/render.py table coba.jsonl      # print the Markdown table

`record` runs the command and appends one line per JSON line it printed to
`benchmarks/results/<file>`: `{"command": ..., "recorded": <UTC date>, "host": ..., "result": {...}}`,
so each number keeps the command that produced it. Lines the command printed that are not JSON
objects (progress, comments) are skipped.

The docs build uses this file as an mkdocs hook (`hooks:` in `mkdocs.yml`): in a page, a line
`<!-- benchmark-table: coba.jsonl -->` is replaced by the table of that file, so the tables on the
Benchmarks page are never typed by hand. The numbers are written exactly as stored in the JSON.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent
MARKER = re.compile(r"^<!-- benchmark-table: (?P<file>[\w.-]+\.jsonl) -->$", re.MULTILINE)

# Per file: the columns shown, as (heading, key in "result"). Keys not listed are not shown.
COLUMNS = {
    "coba.jsonl": [
        ("model", "model"),
        ("N", "n"),
        ("in-degree", "in_degree"),
        ("procedural", "procedural"),
        ("synapses", "synapses"),
        ("bio s", "duration"),
        ("engine", "engine_used"),
        ("run s", "run_s"),
        ("compile s", "compile_s"),
        ("rate Hz", "rate_hz"),
        ("peak RSS MB", "peak_rss_mb"),
    ],
    "stdp.jsonl": [
        ("N", "n"),
        ("in-degree", "in_degree"),
        ("engine", "engine"),
        ("run s", "run_s"),
        ("static run s", "static_run_s"),
        ("slowdown", "slowdown"),
        ("generic engine s", "plastic_generic_run_s"),
        ("= generic weights", "weights_equal_generic"),
        ("Brian2 s", "brian2_run_s"),
        ("ratio to Brian2", "ratio"),
        ("mean w vs Brian2", "w_mean_rel_diff"),
        ("B/synapse", "plastic_bytes_per_synapse"),
        ("rate Hz", "rate_hz"),
    ],
    "sweep.jsonl": [
        ("simulator", "simulator"),
        ("points", "points"),
        ("parallel points", "parallel_points"),
        ("threads", "threads"),
        ("one point s", "point_s"),
        ("sweep s", "sweep_s"),
        ("build s", "build_s"),
        ("total s", "total_s"),
        ("compilations", "compilations"),
    ],
    "train_step.jsonl": [
        ("engine", "engine"),
        ("T", "T"),
        ("step s (median)", "step_s"),
        ("step s (min)", "step_min_s"),
        ("compile s", "compile_s"),
        ("peak RSS MB", "peak_rss_mb"),
        ("hidden spikes / step", "hidden_spikes_per_step"),
    ],
    "mapping.jsonl": [
        ("workload", "workload"),
        ("order", "order"),
        ("preset", "preset"),
        ("mapper", "mapper"),
        ("cores", "cores"),
        ("violations", "violations"),
        ("spike hops /s", "spike_hops"),
        ("multicast hops /s", "spike_hops_multicast"),
        ("max link load /s", "max_link_load"),
        ("energy J", "energy_j"),
        ("latency s", "latency_s"),
        ("mapper s", "seconds"),
    ],
}


def load(name: str) -> list[dict]:
    """The records of `benchmarks/results/<name>`, in file order."""
    path = RESULTS / name
    if not path.exists():
        raise FileNotFoundError(f"no benchmark results `{path}`; record them with `render.py record`.")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)  # json.loads gives back the stored float; str() is its shortest repr


def table(name: str) -> str:
    """A Markdown table of the rows of `name` (summary lines left out), then each distinct command."""
    records = [r for r in load(name) if not r["result"].get("summary", False)]
    columns = COLUMNS.get(name) or [(k, k) for k in records[0]["result"]]
    lines = [
        "| " + " | ".join(heading for heading, _ in columns) + " |",
        "| " + " | ".join("---" for _ in columns) + " |",
    ]
    for record in records:
        lines.append("| " + " | ".join(_cell(record["result"].get(key, "")) for _, key in columns) + " |")
    lines.append("")
    hosts = sorted({f"{r['recorded']}, {r['host']}" for r in records})
    lines.append(f"Recorded {'; '.join(hosts)}, with:")
    lines.append("")
    lines.append("```bash")
    seen = []
    for record in records:
        if record["command"] not in seen:
            seen.append(record["command"])
    lines.extend(seen)
    lines.append("```")
    return "\n".join(lines)


def on_page_markdown(markdown: str, page, config, files) -> str:
    """mkdocs hook: replace each `<!-- benchmark-table: FILE -->` line with the table of FILE."""
    return MARKER.sub(lambda match: table(match.group("file")), markdown)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def record(name: str, command: list[str]) -> int:
    """Run `command` (a leading `python` is this interpreter) and append its JSON lines to `name`."""
    runnable = [sys.executable, *command[1:]] if command[0] == "python" else command
    done = subprocess.run(runnable, capture_output=True, text=True, check=False)
    sys.stderr.write(done.stderr[-2000:])
    if done.returncode != 0:
        return done.returncode
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    host = f"{platform.machine()}, {_cpu_model()}, {os.cpu_count()} CPUs"
    with open(RESULTS / name, "a") as out:
        for line in done.stdout.splitlines():
            try:
                result = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(result, dict):
                entry = {"command": shlex.join(command), "recorded": stamp, "host": host, "result": result}
                out.write(json.dumps(entry) + "\n")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="action", required=True)
    rec = sub.add_parser("record", help="run a benchmark command and store its JSON lines")
    rec.add_argument("file", help="name of the .jsonl file in benchmarks/results/")
    rec.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command")
    tab = sub.add_parser("table", help="print the Markdown table of a results file")
    tab.add_argument("file")
    args = parser.parse_args(argv)
    if args.action == "table":
        print(table(args.file))
        return 0
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("`record` needs a command after `--`.")
    return record(args.file, command)


if __name__ == "__main__":
    sys.exit(main())
