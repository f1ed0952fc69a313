"""The `brainsim` command: `demo`, `run CONFIG.toml`, `map CONFIG.toml --chip ...` and
`sweep CONFIG.toml`.

`main(argv)` parses the arguments and returns the exit status: 0 on success, 2 for a bad
command line or config (the message names the key and its line; for `sweep`, also a point
whose network a constructor rejects), 1 when the simulation, the mapping or a sweep point
fails (a NaN in the state, a network that fits on no number of cores, a metric that raises).
"""

import argparse
import pathlib
import sys
from collections.abc import Sequence

from .. import NonFiniteStateError, hardware
from ..sweep import SweepError
from .config import Config, load_config
from .demo import demo, print_summary
from .map_command import map_config
from .run_command import run_config
from .schema import CHIPS, ConfigError
from .sweep_command import sweep_config

_SET_HELP = (
    "override one config key, validated like the file: `table.key=value` (the value is read as "
    'TOML, e.g. `simulation.duration=50`, `simulation.record=["E"]`; a bare word is a string). '
    "An element of [[populations]], [[projections]] or [[inputs]] is named by its `name` or its "
    "index: `populations.exc.n=80`, `projections.0.weight=2.5`. Repeatable."
)


def parser() -> argparse.ArgumentParser:
    """The argument parser of the `brainsim` command (every flag has its help text)."""
    top = argparse.ArgumentParser(
        prog="brainsim",
        description="brainsim: a differentiable brain simulator in JAX. Config files: see docs/cli.md.",
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo_parser = commands.add_parser(
        "demo",
        help="COBA N=4,000 for 1 s: rates per population, CV, timings, plot",
        description="The COBA benchmark (Vogels & Abbott 2005): build, compile, run twice "
        "(compile and run times apart), print rates per population, ISI CV and timings, save a plot.",
    )
    demo_parser.add_argument(
        "--n", type=int, default=4000, help="number of neurons, 80%% in E and 20%% in I (default: 4000)"
    )
    demo_parser.add_argument(
        "--duration",
        type=float,
        default=1000.0,
        help="simulated time in ms, a multiple of the 0.1 ms step (default: 1000)",
    )
    demo_parser.add_argument(
        "--out",
        type=pathlib.Path,
        default=pathlib.Path("demo_output"),
        help="directory for the raster and rate plot coba_raster.png (default: demo_output)",
    )
    demo_parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="random seed: the network is built with k1 and simulated with k2, where "
        "k1, k2 = jax.random.split(jax.random.key(seed)) (default: 0)",
    )

    run_parser = commands.add_parser(
        "run",
        help="build a network from a config file, simulate, save results and plots",
        description="Build the network CONFIG describes, simulate it with a progress bar, and write "
        "summary.json (rates, CV, timings, versions), result.npz (the spikes, via brainsim.io) "
        "and the plots of [output].",
    )
    _config_arguments(run_parser)

    map_parser = commands.add_parser(
        "map",
        help="simulate a config's network and map it onto a neuromorphic chip",
        description="Simulate the network CONFIG describes for simulation.duration, map it onto a chip "
        "preset at the measured rates, and write mapping.json, mapping.txt and core_load.png.",
    )
    _config_arguments(map_parser)
    map_parser.add_argument(
        "--chip",
        choices=CHIPS,
        help="chip preset; overrides hardware.chip (default: the config's, else loihi)",
    )
    map_parser.add_argument(
        "--mapper",
        choices=hardware.MAPPERS,
        help="mapping algorithm; overrides hardware.mapper (default: the config's, else traffic)",
    )

    sweep_parser = commands.add_parser(
        "sweep",
        help="run the grid of a config's [sweep] table: a table of metrics, heatmaps",
        description="Build one network per point of the [sweep] grid (every combination of the "
        "values of its key paths), run them with bs.sweep (one compilation per group of points of "
        "the same shapes), and write sweep.csv (parameters and metrics, one row per point), "
        "summary.json and, when exactly two key paths vary, heatmap_<metric>.png per metric.",
    )
    _config_arguments(sweep_parser)
    return top


def _config_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("config", type=pathlib.Path, metavar="CONFIG", help="the TOML config file")
    command.add_argument(
        "--out",
        type=pathlib.Path,
        default=None,
        help="output directory; overrides output.directory (default: the config's, else brainsim_output)",
    )
    command.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="TABLE.KEY=VALUE", help=_SET_HELP
    )
    command.add_argument(
        "--no-progress", action="store_true", help="do not show the simulation's progress bar"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `brainsim` command with `argv` (default: `sys.argv[1:]`); returns the exit status."""
    args = parser().parse_args(argv)
    if args.command == "demo":
        summary = demo(args.n, args.duration, args.out, args.seed)
        print_summary(summary, args.out)
        return 0
    overrides = list(args.overrides)
    for flag in ("chip", "mapper"):
        value = getattr(args, flag, None)
        if value is not None:
            overrides.append((f"hardware.{flag}={value}", f"--{flag} {value}"))
    try:
        config = load_config(args.config, overrides)
        out = args.out or pathlib.Path(config.values["output"]["directory"])
        if args.command == "sweep":
            summary = sweep_config(config, out, progress=not args.no_progress)
            _print_sweep(summary, out)
            return 0
        _refuse_sweep(config, args.command)
        if args.command == "run":
            summary = run_config(config, out, progress=not args.no_progress)
            _print_run(summary, out)
        else:
            report = map_config(config, out, progress=not args.no_progress)
            print((out / report["files"]["text"]).read_text(encoding="utf-8"), end="")
            print(f"written to {out}: {', '.join(report['files'].values())}")
    except ConfigError as err:
        print(f"brainsim {args.command}: error: {err}", file=sys.stderr)
        return 2
    except SweepError as err:  # a point's network that a constructor rejects is a config error
        print(f"brainsim sweep: error: {err}", file=sys.stderr)
        return 2 if isinstance(err.__cause__, ConfigError) else 1
    except (NonFiniteStateError, hardware.InfeasibleMappingError) as err:
        print(f"brainsim {args.command}: error: {err}", file=sys.stderr)
        return 1
    return 0


def _refuse_sweep(config: Config, command: str) -> None:
    if config.values["sweep"] is not None:
        raise config.error(
            ("sweep",),
            f"`brainsim {command}` simulates one network, and this config has a [sweep] table: run "
            f"`brainsim sweep {config.path}` for the grid, or remove the table.",
        )


def _print_sweep(summary: dict, out: pathlib.Path) -> None:
    grid = " x ".join(f"{len(values)} {path}" for path, values in summary["parameters"].items())
    print(f"{summary['points']} points ({grid}); metrics: {', '.join(summary['metrics'])}")
    shapes = summary["shape_parameters"]
    grouped = f", grouped by {', '.join(shapes)}" if shapes else ""
    timings = summary["timings_s"]
    print(f"compilations: {summary['compilations']}{grouped} ({timings['compile']} s)")
    print(f"sweep: {timings['sweep']} s (compilation included)")
    files = summary["files"]
    print(f"written to {out}: {', '.join([files['table'], files['summary'], *files['heatmaps']])}")


def _print_run(summary: dict, out: pathlib.Path) -> None:
    for name, rate in summary["rates_hz"].items():
        cv = summary["cv_isi"][name]
        cv_text = "n/a" if cv is None else f"{cv:.3f}"
        print(f"{name:>12}: {summary['populations'][name]} neurons, {rate:.3f} Hz, CV {cv_text}")
    timings = summary["timings_s"]
    print(f"{'build_s':>12}: {timings['build']}")
    print(f"{'simulate_s':>12}: {timings['simulate']} (compilation included)")
    files = summary["files"]
    print(f"written to {out}: {', '.join([files['summary'], files['result'], *files['plots']])}")
