"""`Chip`: one neuromorphic platform as a set of sourced constants plus its router geometry."""

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from .provenance import Constant

TOPOLOGIES = ("mesh", "hexagonal")
DELIVERIES = ("unicast", "multicast")
SYNAPSE_FORMATS = ("loihi", "spinnaker", "truenorth")
ENERGY_MODES = ("component", "all-in")
ENERGY_TERMS = ("e_syn", "e_act", "e_inact", "e_msg", "e_x", "e_y", "e_rt", "p_core", "p_chip")
"""`Chip` fields of the component energy model (pJ per event; static power in W)."""
TIME_TERMS = (
    "t_syn",
    "t_act",
    "t_inact",
    "t_local",
    "t_x",
    "t_y",
    "link_bandwidth",
    "barrier_one",
    "barrier_full",
)
"""`Chip` fields of the max-affine latency model (ns per event; spikes/ns; barrier ns)."""

# Directed link directions shared by both topologies: (dx, dy) per direction index.
# Mesh uses E, N, W, S (0, 2, 3, 5); the SpiNNaker triangular lattice uses all six.
DIRECTIONS = np.array([[1, 0], [1, 1], [0, 1], [-1, 0], [-1, -1], [0, -1]])
DIRECTION_NAMES = ("E", "NE", "N", "W", "SW", "S")


@dataclass(frozen=True)
class Chip:
    r"""A many-core neuromorphic platform: per-core limits, router geometry, costs.

    Cores are numbered router-major: core `c` sits on router `c // cores_per_router`, and
    routers are the present grid points in `y`-major order (`y * width + x`, missing ones
    skipped). Energies are in pJ, times in ns, powers in W, memory in bits or bytes; each
    number is a `Constant` carrying its source and provenance tag. Build presets with
    `Chip.loihi()`, `Chip.from_name("spinnaker")` or `generic_mesh(12, 12)`.

    **Fields:**
    - `name`: preset name.
    - `width`, `height`: router grid size, >= 1.
    - `cores_per_router`: cores sharing one router (0 hops between them), >= 1.
    - `topology`: `"mesh"` (4 links) or `"hexagonal"` (SpiNNaker's 6-link triangular lattice).
    - `torus`: whether the grid wraps around.
    - `missing_routers`: `(x, y)` grid points with no router (SpiNNaker board corners).
    - `router_is_chip`: each router is its own chip (SpiNNaker): `p_chip` and SDRAM are per router.
    - `delivery`: `"unicast"` (one message per destination core, no replication in the NoC) or
      `"multicast"` (a tree replicated in the routers).
    - `routing`: `"xy"` (x first, then y) or `"ldf"` (longest dimension first, 3 axes).
    - `synapse_format`: bits-per-synapse model, one of `SYNAPSE_FORMATS`.
    - `weight_bits`: synaptic weight width, bits; `weight_signed`: weights carry a sign bit.
    - `neurons_per_core`, `synapse_bits_per_core`, `in_axons_per_core`, `out_axons_per_core`,
      `targets_per_neuron` (destination cores per neuron), `router_entries` (per router),
      `sdram_bytes_per_chip`: limits; `None` when the platform has no such limit.
    - `intra_core_axons_count`: a core's own sources count towards its axon limits.
    - `e_syn`, `e_act`, `e_inact`, `e_msg`, `e_x`, `e_y`, `e_rt`: energy per synaptic op, per
      active / inactive neuron update, per delivered message, per E-W / N-S hop (diagonal
      hops are charged `e_x`), per router traversal; pJ.
    - `p_core`, `p_chip`: static power per active core and per used chip, W.
    - `energy_mode`: `"component"`, or `"all-in"` where `e_syn` already contains everything.
    - `t_syn`, `t_act`, `t_inact`, `t_local`, `t_x`, `t_y`: time per synaptic op, per active /
      inactive neuron update, within a router, per E-W / N-S hop; ns.
    - `link_bandwidth`: spikes per ns one link carries (Gspike/s).
    - `barrier_one`, `barrier_full`, `barrier_routers`: barrier time for 1 and for
      `barrier_routers` used routers (linear in between and beyond), ns.
    - `fixed_step`: a fixed time step (ms) when the chip runs on a global clock, else `None`.
    - `notes`: free-text caveats shown in reports.
    """

    name: str
    width: int
    height: int
    cores_per_router: int
    topology: str
    torus: bool
    delivery: str
    routing: str
    synapse_format: str
    weight_bits: int
    neurons_per_core: Constant
    synapse_bits_per_core: Constant | None
    in_axons_per_core: Constant | None
    out_axons_per_core: Constant | None
    intra_core_axons_count: bool
    e_syn: Constant
    e_act: Constant
    e_inact: Constant
    e_msg: Constant
    e_x: Constant
    e_y: Constant
    e_rt: Constant
    p_core: Constant
    p_chip: Constant
    t_syn: Constant
    t_act: Constant
    t_inact: Constant
    t_local: Constant
    t_x: Constant
    t_y: Constant
    link_bandwidth: Constant
    barrier_one: Constant
    barrier_full: Constant
    barrier_routers: int = 32
    fixed_step: Constant | None = None
    energy_mode: str = "component"
    weight_signed: bool = True
    targets_per_neuron: Constant | None = None
    router_entries: Constant | None = None
    sdram_bytes_per_chip: Constant | None = None
    router_is_chip: bool = False
    missing_routers: tuple[tuple[int, int], ...] = ()
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self):
        for arg in ("width", "height", "cores_per_router", "barrier_routers"):
            value = getattr(self, arg)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"`{arg}` must be an integer >= 1; got {value!r}.")
        for arg, allowed in (
            ("topology", TOPOLOGIES),
            ("delivery", DELIVERIES),
            ("synapse_format", SYNAPSE_FORMATS),
            ("energy_mode", ENERGY_MODES),
            ("routing", ("xy", "ldf")),
        ):
            if getattr(self, arg) not in allowed:
                raise ValueError(f"`{arg}` must be one of {allowed}; got {getattr(self, arg)!r}.")
        if self.topology == "hexagonal" and self.routing != "ldf":
            raise ValueError("`routing` must be 'ldf' on a 'hexagonal' topology; got 'xy'.")
        if not 1 <= self.weight_bits <= 32:
            raise ValueError(f"`weight_bits` must be in [1, 32] bits; got {self.weight_bits!r}.")
        if self.n_cores < 1:
            raise ValueError("the chip has no routers left after `missing_routers`.")

    # --- geometry -----------------------------------------------------------------------
    @property
    def router_xy(self) -> np.ndarray:
        """int array `(n_routers, 2)`: grid position `(x, y)` of each present router."""
        y, x = np.divmod(np.arange(self.width * self.height), self.width)
        keep = np.ones(x.shape, bool)
        for mx, my in self.missing_routers:
            keep &= ~((x == mx) & (y == my))
        return np.stack([x[keep], y[keep]], axis=1)

    @property
    def n_routers(self) -> int:
        return int(self.router_xy.shape[0])

    @property
    def n_cores(self) -> int:
        return self.n_routers * self.cores_per_router

    @property
    def core_xy(self) -> np.ndarray:
        """int array `(n_cores, 2)`: router position of each core."""
        return np.repeat(self.router_xy, self.cores_per_router, axis=0)

    def barrier_ns(self, n_routers_used: int) -> float:
        r"""Barrier time in ns for `n_routers_used` routers.

        $T_\mathrm{sync}(n) = b_1 + (b_\mathrm{full} - b_1)(n - 1)/(n_\mathrm{full} - 1)$.

        Linear between the two documented points and extrapolated beyond `barrier_routers`
        (an `assumed` extension). Returns 0 when the chip has a fixed step instead."""
        b1, bf = self.barrier_one.or_zero(), self.barrier_full.or_zero()
        if self.barrier_routers == 1:
            return b1
        return b1 + (bf - b1) * (max(int(n_routers_used), 1) - 1) / (self.barrier_routers - 1)

    # --- provenance ---------------------------------------------------------------------
    def constants(self) -> dict[str, Constant]:
        """Every sourced constant of the preset, by field name."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if isinstance(getattr(self, f.name), Constant)
        }

    def provenance(self) -> dict[str, dict]:
        """JSON-serialisable `{field: {value, unit, source, tag}}` for every constant."""
        return {name: const.to_dict() for name, const in self.constants().items()}

    def replace(self, **changes) -> "Chip":
        """A copy with some fields changed (plain numbers become `assumed` constants)."""
        for name, value in list(changes.items()):
            current = getattr(self, name, None)
            if isinstance(value, (int, float)) and isinstance(current, Constant):
                changes[name] = Constant(float(value), current.unit, "set by the user", "assumed")
        return dataclasses.replace(self, **changes)

    # --- presets (defined in presets.py) ------------------------------------------------
    @classmethod
    def from_name(cls, name: str) -> "Chip":
        """A preset by name: one of `PRESETS` (`"loihi"`, `"loihi2"`, `"spinnaker"`, ...)."""
        from .presets import chip_preset

        return chip_preset(name)

    @classmethod
    def loihi(cls) -> "Chip":
        return cls.from_name("loihi")

    @classmethod
    def loihi_fitted(cls) -> "Chip":
        return cls.from_name("loihi_fitted")

    @classmethod
    def loihi2(cls) -> "Chip":
        return cls.from_name("loihi2")

    @classmethod
    def spinnaker(cls) -> "Chip":
        return cls.from_name("spinnaker")

    @classmethod
    def spinnaker2(cls) -> "Chip":
        return cls.from_name("spinnaker2")

    @classmethod
    def truenorth(cls) -> "Chip":
        return cls.from_name("truenorth")
