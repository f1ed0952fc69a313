"""Command line: `python -m brainsim demo | run CONFIG.toml | map CONFIG.toml --chip CHIP`
(also installed as `brainsim`); see `brainsim.cli` and `docs/cli.md`."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
