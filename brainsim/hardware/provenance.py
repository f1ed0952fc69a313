"""Sourced constants: every chip number carries its unit, its source and a provenance tag."""

from dataclasses import dataclass

TAGS = ("documented", "simulated-pre-silicon", "fitted", "inherited", "assumed", "unknown")
"""Provenance tags, from most to least trustworthy (see `docs/hardware.md`).

- `documented`: stated in a primary paper or datasheet, measured on silicon, or hard-coded in
  the vendor's toolchain.
- `simulated-pre-silicon`: design simulation (Loihi's Table 2).
- `fitted`: regressed from measurements by a third party (SANA-FE).
- `inherited`: copied from another preset for lack of a public value.
- `assumed`: a modelling choice made by brainsim.
- `unknown`: no public value; `value` is `None` and the cost model reports the term as missing.
"""


@dataclass(frozen=True)
class Constant:
    """One chip constant with its provenance.

    **Fields:**
    - `value`: the number (float), or `None` when no public value exists (`tag == "unknown"`).
    - `unit`: unit string (`"pJ"`, `"ns"`, `"W"`, `"bits"`, `"B"`, `"count"`, ...).
    - `source`: where the number comes from (paper, page, table, toolchain file).
    - `tag`: one of `TAGS`.
    """

    value: int | float | None
    unit: str
    source: str
    tag: str

    def __post_init__(self):
        if self.tag not in TAGS:
            raise ValueError(f"`tag` must be one of {TAGS}; got {self.tag!r}.")
        if (self.value is None) != (self.tag == "unknown"):
            raise ValueError(
                f"`value` must be None exactly when `tag` is 'unknown'; got value={self.value!r}, "
                f"tag={self.tag!r}."
            )

    @property
    def known(self) -> bool:
        return self.value is not None

    def or_zero(self) -> float:
        """The value, or 0.0 when unknown (the caller must report the term as missing)."""
        return 0.0 if self.value is None else float(self.value)

    def inherited_from(self, preset: str) -> "Constant":
        """This constant copied into another preset, tagged `inherited`."""
        if self.value is None:
            return self
        return Constant(self.value, self.unit, f"inherited from `{preset}`: {self.source}", "inherited")

    def to_dict(self) -> dict:
        return {"value": self.value, "unit": self.unit, "source": self.source, "tag": self.tag}


def unknown(unit: str, source: str) -> Constant:
    """A constant with no public value."""
    return Constant(None, unit, source, "unknown")
