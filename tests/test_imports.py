"""`import brainsim` stays light: matplotlib, pymetis and scipy load only when used."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("matplotlib", "pymetis", "scipy")


def _loaded_after(statements: str) -> set[str]:
    """The top-level modules of `HEAVY` in `sys.modules` after running `statements` in a fresh
    interpreter (a subprocess: this test process has long since imported all of them)."""
    code = f"import sys\n{statements}\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "MPLBACKEND": "Agg"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split()) & set(HEAVY)


@pytest.mark.parametrize(
    "statements",
    [
        "import brainsim",
        "import brainsim.hardware, brainsim.analysis",
        "import brainsim as bs; bs.hardware.map_network; bs.analysis.plot_raster",
    ],
)
def test_importing_brainsim_loads_no_heavy_optional_module(statements):
    assert _loaded_after(statements) == set()


def test_the_check_sees_a_module_once_it_is_used():
    # a METIS partition and a core-load plot load exactly what they need, and the check sees it
    used = _loaded_after(
        "import numpy as np, brainsim.hardware as hw\n"
        "g = hw.from_arrays(4, np.array([0, 1, 2]), np.array([1, 2, 3]))\n"
        "hw.metis_partition(g, 2, seed=0)\n"
        "m = hw.map_network(g, hw.generic_mesh(2, 2), 'pacman', seed=0)\n"
        "hw.plot_core_load(m, hw.cost_report(g, m.core_of, m.chip))"
    )
    assert used == {"pymetis", "matplotlib"}


def test_every_package_the_library_imports_is_a_declared_dependency():
    import ast
    import importlib.metadata
    import re
    import tomllib

    imported = set()
    for path in (ROOT / "brainsim").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"brainsim"}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {re.split(r"[<>=!~\[ ;]", d)[0].lower() for d in project["dependencies"]}
    distributions = importlib.metadata.packages_distributions()
    undeclared = {
        module
        for module in third_party
        if not {d.lower() for d in distributions.get(module, [module])} & declared
    }
    assert third_party >= {"jax", "equinox", "diffrax", "numpy"}  # the scan found the imports
    assert not undeclared, f"imported by brainsim but not declared in pyproject.toml: {sorted(undeclared)}"
