"""Griffe extension for the docs build: the constructor signature of equinox modules.

brainsim's models, inputs and formats are `equinox.Module`s: dataclasses whose `__init__` equinox
writes from the annotated fields, so the source has no `__init__` for griffe to show and a class
would render without its arguments. This extension writes that signature from the fields, as
`dataclasses` would: fields of base classes first, a field redefined in a subclass keeping its
place; `eqx.AbstractVar` / `ClassVar` declarations are not fields; `eqx.field(default=...)` or
`default_factory=` gives the default; `eqx.field(init=False)` leaves the argument out. A class
that writes its own `__init__` keeps it. `tests/test_docs.py` compares the result with
`inspect.signature` of every public class.
"""

import griffe

_MODULE_BASES = {"equinox.Module", "equinox._module.Module", "equinox._module._module.Module"}
_NOT_FIELDS = {"equinox.AbstractVar", "equinox.AbstractClassVar", "typing.ClassVar"}
_FIELD_CALLS = {"equinox.field", "equinox._module.field", "dataclasses.field"}


def _path(expr) -> str:
    if isinstance(expr, griffe.ExprSubscript):
        expr = expr.left
    return getattr(expr, "canonical_path", str(expr))


def _mro(cls: griffe.Class) -> list[griffe.Class]:
    try:
        return cls.mro()
    except (ValueError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return []


def is_equinox_module(cls: griffe.Class) -> bool:
    return any(_path(base) in _MODULE_BASES for c in [cls, *_mro(cls)] for base in c.bases)


def _field_arguments(value) -> dict | None:
    if isinstance(value, griffe.ExprCall) and _path(value.function) in _FIELD_CALLS:
        return {arg.name: arg.value for arg in value.arguments if isinstance(arg, griffe.ExprKeyword)}
    return None


def _fields(cls: griffe.Class) -> list[griffe.Parameter]:
    parameters = []
    for member in cls.members.values():
        if member.is_alias or not member.is_attribute or member.annotation is None:
            continue
        if "property" in member.labels or "instance-attribute" not in member.labels:
            continue  # a property, or a ClassVar (griffe unwraps ClassVar and drops this label)
        if _path(member.annotation) in _NOT_FIELDS:
            continue
        arguments = _field_arguments(member.value)
        if arguments is not None and str(arguments.get("init")) == "False":
            continue
        if arguments is None:
            default = member.value
        elif "default_factory" in arguments:
            default = griffe.ExprCall(function=arguments["default_factory"], arguments=[])
        else:
            default = arguments.get("default")
        parameters.append(
            griffe.Parameter(
                member.name,
                annotation=member.annotation,
                kind=griffe.ParameterKind.positional_or_keyword,
                default=default,
            )
        )
    return parameters


def _write_init(cls: griffe.Class) -> None:
    if "__init__" in cls.members or not is_equinox_module(cls):
        return
    for parent in _mro(cls):  # an inherited hand-written __init__ is the real one
        if "__init__" in parent.members and not getattr(parent.members["__init__"], "_equinox_fields", False):
            return
    ordered: dict[str, griffe.Parameter] = {}
    for c in [*reversed(_mro(cls)), cls]:
        for parameter in _fields(c):
            ordered[parameter.name] = parameter  # a redefinition keeps the first position
    self_ = griffe.Parameter("self", kind=griffe.ParameterKind.positional_or_keyword)
    init = griffe.Function(
        "__init__",
        lineno=0,
        endlineno=0,
        parent=cls,
        parameters=griffe.Parameters(self_, *ordered.values()),
        returns="None",
    )
    init._equinox_fields = True
    cls.set_member("__init__", init)


def _classes(obj):
    for member in obj.members.values():
        if member.is_alias:
            continue
        if member.is_class:
            yield member
        if member.is_module or member.is_class:
            yield from _classes(member)


class EquinoxModuleInit(griffe.Extension):
    """Give every `equinox.Module` subclass without a written `__init__` its field signature."""

    def on_package(self, *, pkg: griffe.Module, **kwargs) -> None:
        classes = list(_classes(pkg))
        # Bases before subclasses, so a subclass sees whether a base's __init__ was written here.
        for cls in sorted(classes, key=lambda c: len(_mro(c))):
            _write_init(cls)
