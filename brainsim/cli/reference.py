"""The config reference of `docs/cli.md`, rendered from `brainsim.cli.schema.SCHEMA`."""

from .schema import NEURON_MODELS, REQUIRED, SCHEMA, Key, neuron_parameters, range_text


def reference_markdown() -> str:
    """The schema as Markdown tables (the "Config reference" of `docs/cli.md`)."""
    lines = []
    for table in SCHEMA:
        optional = " (optional)" if table.optional else ""
        lines += [
            f"### `{table.header}`{optional}",
            "",
            table.doc,
            "",
            "| key | type | default | meaning |",
            "|---|---|---|---|",
        ]
        for key in table.keys:
            lines.append(f"| `{key.name}` | {_type_text(key)} | {_default_text(key)} | {_doc_text(key)} |")
        lines.append("")
    lines += [
        "### Neuron parameters",
        "",
        "`parameters` of `[[populations]]` takes the numeric fields of "
        "the model named by `neuron` (units and ranges in the model's API page); defaults:",
        "",
    ]
    for model in NEURON_MODELS:
        params = ", ".join(f"`{p}` = {v:g}" for p, v in neuron_parameters(model).items())
        lines.append(f"- `{model}`: {params}")
    lines.append("")
    return "\n".join(lines)


def _type_text(key: Key) -> str:
    base = {
        "float": "number",
        "int": "integer",
        "str": "string",
        "bool": "boolean",
        "strings": "array of strings",
        "parameters": "table of numbers",
        "grid": "table of arrays",
    }[key.kind]
    parts = [base]
    if key.unit:
        parts.append(key.unit)
    if range_text(key):
        parts.append(range_text(key).replace("[", "\\[").replace("]", "\\]"))
    if key.choices:
        each = "each one of " if key.kind == "strings" else "one of "
        parts.append(each + ", ".join(f"`{c}`" for c in key.choices))
    return ", ".join(parts)


def _default_text(key: Key) -> str:
    if key.default is REQUIRED:
        return "required"
    if key.default is None:
        return "see meaning"
    if isinstance(key.default, bool):
        return f"`{str(key.default).lower()}`"
    if isinstance(key.default, str):
        return f'`"{key.default}"`'
    if isinstance(key.default, list):
        return "`[" + ", ".join(f'"{v}"' for v in key.default) + "]`"
    if isinstance(key.default, dict):
        return "`{}`"
    return f"`{key.default:g}`"


def _doc_text(key: Key) -> str:
    text = key.doc
    if key.when:
        text += "; only when " + " and ".join(
            f"`{other}` is " + " or ".join(f"`{v}`" for v in values) for other, values in key.when
        )
    return text
