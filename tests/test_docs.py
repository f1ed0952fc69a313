"""The documentation site: it builds with `mkdocs build --strict`, its API reference covers every
public name, docstring argument lists render as lists, the notebooks are in it, and the numbers
on the Benchmarks page are the stored benchmark output."""

import ast
import html
import importlib
import importlib.util
import inspect
import os
import pathlib
import pkgutil
import re
import subprocess
import sys
import zlib

import pytest
import yaml

import brainsim

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _load(path: pathlib.Path, name: str):
    """Import a build script (a docs hook, the benchmark renderer) by path, without `sys.path`."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


docstring_lists = _load(ROOT / "docs" / "_hooks" / "docstring_lists.py", "_docs_docstring_lists")
reexports = _load(ROOT / "docs" / "_hooks" / "reexports.py", "_docs_reexports")
equinox_init = _load(ROOT / "docs" / "_hooks" / "equinox_init.py", "_docs_equinox_init")
benchmark_render = _load(ROOT / "benchmarks" / "results" / "render.py", "_benchmark_render")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> pathlib.Path:
    site_dir = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return site_dir


def inventory(site: pathlib.Path) -> dict[str, str]:
    """`{name: role}` from the Sphinx-style `objects.inv` that mkdocstrings writes, one entry per
    rendered object (`py:class`, `py:function`, `py:module`, ...)."""
    data = (site / "objects.inv").read_bytes()
    header, _, compressed = data.partition(b"zlib.\n")
    assert header.startswith(b"# Sphinx inventory version 2"), header[:60]
    lines = zlib.decompress(compressed).decode().splitlines()
    return {line.split(" ")[0]: line.split(" ")[1] for line in lines}


def documented(rendered: dict[str, str], path: str, obj) -> bool:
    """Whether `obj`, public as `path`, is rendered. A function or class that has the same name as
    the module defining it (`brainsim.analysis.phase_plane` is both) is seen by the docs tooling
    as the module, so it is found one level down, at `path.name`."""
    role = rendered.get(path)
    if inspect.ismodule(obj):
        return role == "py:module"
    if role is not None and role != "py:module":
        return True
    return rendered.get(f"{path}.{path.rsplit('.', 1)[1]}", "py:module") != "py:module"


def public_names(module) -> list[str]:
    """A package's public names: its `__all__`, or else (the equinox convention) the names it
    re-exports with a redundant `from ._x import name as name`."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    tree = ast.parse(pathlib.Path(module.__file__).read_text())
    return reexports.reexported_names(tree)


def api_members(module) -> list[tuple[str, object]]:
    """`(path, object)` of a subpackage's API: its public names, or, for a package that exports
    nothing itself (`brainsim.io`), the public classes and functions defined in each public
    submodule (`brainsim.io.nir.to_nir`, ...)."""
    names = public_names(module)
    if names or not hasattr(module, "__path__"):
        return [(f"{module.__name__}.{n}", getattr(module, n)) for n in names]
    members = []
    for info in pkgutil.iter_modules(module.__path__):
        if info.name.startswith("_"):
            continue
        sub = importlib.import_module(f"{module.__name__}.{info.name}")
        members.append((sub.__name__, sub))
        for name, obj in vars(sub).items():
            defined_here = (
                inspect.isfunction(obj) or inspect.isclass(obj)
            ) and obj.__module__ == sub.__name__
            if defined_here and not name.startswith("_"):
                members.append((f"{sub.__name__}.{name}", obj))
    return members


def subpackages() -> list[str]:
    return [name for name in brainsim.__all__ if importlib.util.find_spec(f"brainsim.{name}") is not None]


def test_site_builds(site):
    assert "LIF" in (site / "api" / "neurons" / "index.html").read_text()


def test_api_reference_covers_every_public_name(site):
    rendered = inventory(site)
    missing = []
    for name in brainsim.__all__:
        if name in subpackages():
            module = importlib.import_module(f"brainsim.{name}")
            wanted = [(f"brainsim.{name}", module), *api_members(module)]
        else:
            wanted = [(f"brainsim.{name}", getattr(brainsim, name))]
        missing += [path for path, obj in wanted if not documented(rendered, path, obj)]
    assert not missing, (
        f"not in the API reference (docs/api/*.md): {missing}. Add a `::: name` line to the page "
        "of its topic (subpackages render their `__all__` automatically)."
    )


def public_modules() -> list[str]:
    """Top-level modules and packages of brainsim (not `_private`) whose source defines `__all__`."""
    found = []
    for path in sorted((ROOT / "brainsim").iterdir()):
        source = path / "__init__.py" if path.is_dir() else path
        name = path.name.removesuffix(".py")
        if name.startswith("_") or source.suffix != ".py" or not source.exists():
            continue
        tree = ast.parse(source.read_text())
        if any(
            isinstance(n, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in n.targets)
            for n in tree.body
        ):
            found.append(name)
    return found


def test_every_public_module_is_documented(site):
    """`brainsim.sweep`, `brainsim.distributed`, `brainsim.fused`, ...: each name in the `__all__`
    of a public module is rendered under that module, or under `brainsim.` if it is also in the
    flat API."""
    rendered = inventory(site)
    missing = []
    for name in public_modules():
        module = importlib.import_module(f"brainsim.{name}")
        for member in module.__all__:
            obj = getattr(module, member)
            flat = member in brainsim.__all__ and getattr(brainsim, member) is obj
            if not (
                documented(rendered, f"brainsim.{name}.{member}", obj)
                or (flat and documented(rendered, f"brainsim.{member}", obj))
            ):
                missing.append(f"brainsim.{name}.{member}")
    assert {"sweep", "distributed", "models", "hardware"} <= set(public_modules())
    assert not missing, f"not in the API reference (docs/api/*.md): {missing}"


def test_subpackages_are_rendered_whole(site):
    # `models`, `analysis`, `hardware` and `io` are in `__all__`, and each has a page or section.
    assert {"models", "analysis", "hardware", "io"} <= set(subpackages())
    rendered = inventory(site)
    for name in ("models", "analysis", "io"):
        assert f"brainsim.{name}" in rendered


@pytest.mark.parametrize("package", ["brainsim", "brainsim.models", "brainsim.hardware"])
def test_all_lists_exactly_the_reexports(package):
    """`__all__` and the `name as name` re-exports of the package's `__init__.py` agree, so a name
    added to one and not the other (and thus to the docs or not) is caught."""
    module = importlib.import_module(package)
    tree = ast.parse(pathlib.Path(module.__file__).read_text())
    reexported = set(reexports.reexported_names(tree))
    if package == "brainsim":  # subpackages imported on first use are not import statements
        reexported |= {name for name in brainsim.__all__ if name in subpackages()}
    assert len(module.__all__) == len(set(module.__all__)), "duplicates in __all__"
    assert sorted(set(module.__all__) - reexported) == [], "in __all__ but not re-exported"
    assert sorted(reexported - set(module.__all__)) == [], "re-exported but not in __all__"


def test_argument_lists_render_as_lists(site):
    page = (site / "api" / "neurons" / "index.html").read_text()
    lif = page[page.index('id="brainsim.LIF"') : page.index('id="brainsim.LIFState"')]
    for field in ("c_m", "g_leak", "e_leak", "v_threshold", "v_reset", "t_ref", "surrogate"):
        assert f"<li><code>{field}</code>" in lif, field
    run_page = (site / "api" / "simulation" / "index.html").read_text()
    for argument in ("network", "duration", "dt", "key", "inputs", "monitors", "record_spikes", "engine"):
        assert f"<li><code>{argument}</code>" in run_page, argument


def test_no_list_renders_as_a_run_on_paragraph(site):
    """A Markdown list without a blank line before it becomes one paragraph with inline
    '- `name`: ...' items; none may be left anywhere in the API reference."""
    run_on = re.compile(r"<p>(?:(?!</p>).)*\n- <code>", re.S)
    offenders = {}
    for page in (site / "api").rglob("index.html"):
        found = run_on.findall(page.read_text())
        if found:
            offenders[str(page.relative_to(site))] = len(found)
    assert not offenders, offenders


def test_separate_lists_inserts_blank_lines_only_where_needed():
    text = (
        "Summary.\n\n**Fields:**\n- `a`: first, mV.\n  continued.\n- `b`: second.\n**Returns:** x.\n\n"
        "$$\nx\n- y\n$$\n```python\nz = 1\n- 2\n```\nAlready separate:\n\n- `c`: ok."
    )
    out = docstring_lists.separate_lists(text)
    assert "**Fields:**\n\n- `a`: first, mV.\n  continued.\n- `b`: second.\n\n**Returns:** x." in out
    assert "$$\nx\n- y\n$$" in out  # display maths untouched
    assert "z = 1\n- 2\n```" in out  # code untouched
    assert "Already separate:\n\n- `c`: ok." in out  # no second blank line
    assert docstring_lists.separate_lists(out) == out  # idempotent


def test_notebooks_are_rendered(site):
    quickstart = site / "notebooks" / "quickstart" / "index.html"
    assert quickstart.exists()
    assert "COBANetwork" in quickstart.read_text()


def _table_after(page_html: str, marker: str) -> list[list[str]]:
    """Body rows (cell texts) of the first table after the heading containing `marker`."""
    start = page_html.index(marker)
    table = page_html[page_html.index("<table>", start) : page_html.index("</table>", start)]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]  # skip the heading row
    return [
        [
            html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)
        ]
        for r in rows
    ]


@pytest.mark.parametrize(
    "results, heading",
    [
        ("coba.jsonl", "network-benchmarks-coba-cuba-cobahh"),
        ("mapping.jsonl", "hardware-mapping-w-m100k-quick-size"),
    ],
)
def test_benchmark_tables_are_the_stored_json(site, results, heading):
    page = (site / "benchmarks" / "index.html").read_text()
    rows = _table_after(page, f'id="{heading}"')
    records = [r for r in benchmark_render.load(results) if not r["result"].get("summary", False)]
    columns = benchmark_render.COLUMNS[results]
    assert len(rows) == len(records) > 0
    for row, record in zip(rows, records, strict=True):
        assert len(row) == len(columns)
        for cell, (_, key) in zip(row, columns, strict=True):
            stored = record["result"][key]
            if isinstance(stored, (int, float)) and not isinstance(stored, bool):
                assert float(cell) == stored, (key, cell, stored)  # the exact number, not rounded
            else:
                assert cell == benchmark_render._cell(stored), (key, cell, stored)
    text = html.unescape(re.sub(r"<[^>]+>", "", page))  # code blocks are split into highlighted spans
    for command in {r["command"] for r in records}:
        assert command in text, command


def test_every_page_is_in_the_nav():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())

    def targets(entries):
        for entry in entries:
            if isinstance(entry, str):
                yield entry
            elif isinstance(entry, dict):
                for value in entry.values():
                    yield from (targets(value) if isinstance(value, list) else [value])

    in_nav = set(targets(config["nav"]))
    pages = {
        str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").rglob("*.md") if "_hooks" not in p.parts
    }
    notebooks = {f"notebooks/{p.name}" for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert sorted((pages | notebooks) - in_nav) == [], "pages missing from `nav` in mkdocs.yml"


def test_readme_starts_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    first_block = readme[readme.index("```") :].splitlines()
    assert first_block[0] == "```bash"
    assert first_block[1].startswith("make demo") and first_block[2].startswith("make test")


def test_equinox_constructor_signatures_match_runtime():
    """The signatures the docs show for equinox modules (written from their fields by
    docs/_hooks/equinox_init.py) are the ones Python sees."""
    import equinox as eqx
    import griffe

    extensions = griffe.load_extensions(equinox_init.EquinoxModuleInit)
    package = griffe.load("brainsim", search_paths=[str(ROOT)], extensions=extensions)
    checked, wrong = 0, {}
    for module_name in ["brainsim", "brainsim.models", "brainsim.hardware"]:
        module = importlib.import_module(module_name)
        for name in public_names(module):
            obj = getattr(module, name)
            if not (inspect.isclass(obj) and issubclass(obj, eqx.Module)):
                continue
            documented_obj = package[f"{module_name}.{name}".removeprefix("brainsim.")]
            documented_obj = documented_obj.final_target if documented_obj.is_alias else documented_obj
            if not documented_obj.is_class:
                continue  # a class alias (`FastSigmoid = SuperSpike`) is documented at its target
            init = documented_obj.all_members["__init__"]
            init = init.final_target if init.is_alias else init
            # (name, has a default): griffe's `default` is None when there is none
            shown = [(p.name, p.default is not None) for p in init.parameters][1:]
            actual = [(p.name, p.default is not p.empty) for p in inspect.signature(obj).parameters.values()]
            if shown != actual:
                wrong[name] = (shown, actual)
            checked += 1
    assert checked > 50
    assert not wrong, wrong


def test_signature_is_shown_for_a_model(site):
    page = (site / "api" / "neurons" / "index.html").read_text()
    lif = page[page.index('id="brainsim.LIF"') : page.index('id="brainsim.LIFState"')]
    text = html.unescape(re.sub(r"<[^>]+>", "", lif))
    assert (
        "c_m: Parameter = 200.0" in text and "surrogate: AbstractSurrogate = NormalizedSuperSpike()" in text
    )
