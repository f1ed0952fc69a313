"""Every ```python block in `docs/**/*.md` and `README.md` runs, as written.

The blocks of one page run in order in one namespace, like the cells of a notebook, in a
temporary working directory (files a page writes land there). Pages are found by globbing, so a
new page is tested as soon as it exists. A block that is deliberately not runnable (shell
commands, output, a multi-host sketch) must say so with another fence language (```bash,
```text, ...); an unlabeled fence is an error, so nothing is skipped silently.
"""

import pathlib
import re
import textwrap

import jax
import matplotlib.pyplot as plt
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
RUNNABLE = {"python", "py", "python3"}
# ``` or ~~~ fences (3 or more), possibly indented (inside admonitions and lists), with an
# optional language and attributes: ```python title="x.py"
_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")


class Block:
    def __init__(self, page: pathlib.Path, line: int, language: str, source: str):
        self.page, self.line, self.language, self.source = page, line, language, source

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def fenced_blocks(page: pathlib.Path) -> list[Block]:
    """The fenced code blocks of a Markdown file, with their 1-based opening line."""
    lines = page.read_text().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        opened = _OPEN.match(lines[i])
        if not opened:
            i += 1
            continue
        indent, fence = opened["indent"], opened["fence"]
        info = opened["info"].strip()
        language = info.split()[0].lstrip("{.").rstrip("}") if info else ""
        body, j = [], i + 1
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        while j < len(lines) and not closing.match(lines[j]):
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j])
            j += 1
        blocks.append(Block(page, i + 1, language, textwrap.dedent("\n".join(body)) + "\n"))
        i = j + 1
    return blocks


def documentation_pages() -> list[pathlib.Path]:
    pages = sorted(p for p in (ROOT / "docs").rglob("*.md") if "_hooks" not in p.parts)
    return [ROOT / "README.md", *pages]


def _id(page: pathlib.Path) -> str:
    return str(page.relative_to(ROOT))


PAGES_WITH_CODE = [p for p in documentation_pages() if any(b.language in RUNNABLE for b in fenced_blocks(p))]


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Run in a temporary directory; restore JAX's configuration and close figures afterwards
    (a page may switch on float64, as the Numerics page shows)."""
    monkeypatch.chdir(tmp_path)
    saved = dict(jax.config.values)
    yield tmp_path
    for name, value in saved.items():
        if jax.config.values.get(name) != value:
            jax.config.update(name, value)
    plt.close("all")


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=_id)
def test_page_code_runs(page, isolated):
    namespace = {"__name__": f"doc_page_{page.stem}"}
    for block in fenced_blocks(page):
        if block.language not in RUNNABLE:
            continue
        code = compile(block.source, block.where, "exec")
        try:
            exec(code, namespace)  # pytest's filterwarnings=error applies: a warning fails
        except Exception as error:
            raise AssertionError(f"the code block at {block.where} failed: {error!r}") from error


@pytest.mark.parametrize("page", documentation_pages(), ids=_id)
def test_every_fence_names_its_language(page):
    unlabeled = [b.where for b in fenced_blocks(page) if not b.language]
    assert not unlabeled, (
        f"fenced blocks without a language at {unlabeled}: label runnable code ```python (it is "
        "then run by this test) and anything else ```bash, ```text, ..."
    )


def test_extractor_finds_blocks_in_order(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "# t\n\n```python\nx = 1\n```\n\n!!! note\n    ```python\n    y = x + 1\n    ```\n\n"
        "````text\n```python\nnot code\n```\n````\n\n~~~bash\nmake demo\n~~~\n"
    )
    blocks = fenced_blocks(page)
    assert [(b.line, b.language) for b in blocks] == [
        (3, "python"),
        (8, "python"),
        (12, "text"),
        (18, "bash"),
    ]
    assert blocks[1].source == "y = x + 1\n"
    assert "not code" in blocks[2].source


def test_pages_are_discovered_not_listed():
    names = {p.name for p in documentation_pages()}
    assert {"README.md", "concepts.md", "neuron.md", "gradients.md"} <= names
    assert len(PAGES_WITH_CODE) >= 8  # README, getting started and the six how-to pages at least
