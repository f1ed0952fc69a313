"""Build brainsim's optional native CPU kernels (`brainsim/ops/_native/*.cc`, XLA FFI handlers).

The kernels are plain shared libraries loaded with ctypes (not Python extension modules); they
are compiled against the XLA FFI headers shipped in jaxlib (`jax.ffi.include_dir()`), which is
why `jaxlib` is a build requirement in `pyproject.toml`. Everything else about the package lives
in `pyproject.toml`.

Portable flags only: `-O3 -std=c++17 -fPIC`, no `-march=native`, no `-ffast-math` (NaN/Inf must
stay detectable). If the compiler or the headers are missing, or compilation fails, the install
still succeeds: the library is skipped and brainsim uses its pure-JAX reference path (with one
`RuntimeWarning` the first time a kernel is requested). Set `BRAINSIM_NO_NATIVE_BUILD=1` to skip
the build on purpose.
"""

import os
import pathlib
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

_NATIVE_DIR = pathlib.Path("brainsim", "ops", "_native")


def _ffi_include_dir() -> str | None:
    """Directory holding `xla/ffi/api/ffi.h`, from jaxlib in the build environment."""
    try:
        import jaxlib
    except ImportError:
        return None
    roots = [os.path.dirname(os.path.abspath(jaxlib.__file__))] if jaxlib.__file__ else []
    roots += list(getattr(jaxlib, "__path__", []))
    for root in roots:
        include = os.path.join(root, "include")
        if os.path.isfile(os.path.join(include, "xla", "ffi", "api", "ffi.h")):
            return include
    return None


class OptionalNativeBuild(build_ext):
    """`build_ext` that never fails the install: a kernel that cannot be built is skipped."""

    def _skip(self, reason: str) -> None:
        print(
            f"brainsim: skipping native CPU kernels ({reason}); "
            "the pure-JAX reference path will be used.",
            file=sys.stderr,
        )

    def run(self) -> None:
        if os.environ.get("BRAINSIM_NO_NATIVE_BUILD", "") not in ("", "0"):
            self._skip("BRAINSIM_NO_NATIVE_BUILD is set")
            return
        include = _ffi_include_dir()
        if include is None:
            self._skip("XLA FFI headers not found: jaxlib is missing from the build environment")
            return
        for extension in self.extensions:
            extension.include_dirs.append(include)
        try:
            super().run()
        except Exception as error:  # noqa: BLE001 - any build failure means "no native kernels"
            self._skip(f"build failed: {error}")

    def build_extension(self, extension: Extension) -> None:
        try:
            super().build_extension(extension)
        except Exception as error:  # noqa: BLE001
            self._skip(f"could not compile {extension.name}: {error}")

    def get_export_symbols(self, extension: Extension) -> list[str]:
        return []  # plain shared library: no PyInit_<name> symbol to export


def _kernel(name: str, source: str, *, contract: bool = False) -> Extension:
    """One kernel library. `contract=True` lets the compiler fuse multiply-adds (the training
    kernels, which need not match XLA op by op); the others keep -ffp-contract=off."""
    return Extension(
        f"brainsim.ops._native.{name}",
        sources=[str(_NATIVE_DIR / source)],
        depends=[str(path) for path in sorted(_NATIVE_DIR.glob("*.h"))],
        language="c++",
        # -ffp-contract=off: no fused multiply-add, so results match XLA op by op.
        # -fno-trapping-math lets GCC if-convert (vectorise) selects; NaN/Inf values are unchanged.
        extra_compile_args=[
            "-O3",
            "-std=c++17",
            "-fPIC",
            "-ffp-contract=fast" if contract else "-ffp-contract=off",
            "-fno-trapping-math",
        ],
        optional=True,
    )


setup(
    ext_modules=[
        _kernel("_event_kernels", "event_kernels.cc"),
        _kernel("_network_kernels", "network_kernels.cc"),
        _kernel("_train_kernels", "train_kernels.cc", contract=True),
    ],
    cmdclass={"build_ext": OptionalNativeBuild},
)
