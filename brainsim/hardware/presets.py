"""Chip presets with sourced constants (see `docs/hardware.md` and the reference file).

Sources: D18 Davies et al., IEEE Micro 38(1) 2018; D21 Davies et al., Proc. IEEE 109(5) 2021;
F20 Frady et al., NICE 2020; L2B Intel Loihi 2 brief (2021); T26 Timcheck et al., arXiv
2601.10035; M14 Merolla et al., Science 345:668 (2014); A15 Akopyan et al., IEEE TCAD 34(10)
2015; SM SpiNNakerManchester/SpiNNMachine; SPY sPyNNaker; PAC PACMAN; S2DS SpiNNaker2
datasheet v0.03; NL nengo-loihi; SANA SANA-FE `arch/loihi.yaml` and Boyle et al., TCAD 2025.
"""

import dataclasses

from .chips import ENERGY_TERMS, TIME_TERMS, Chip
from .provenance import Constant, unknown

C = Constant
PRESETS = ("loihi", "loihi_fitted", "loihi2", "spinnaker", "spinnaker2", "truenorth", "generic_mesh")


def _loihi() -> Chip:
    t2 = "D18 Table 2 (p.96, 0.75 V)"
    sim = "simulated-pre-silicon"
    return Chip(
        name="loihi",
        width=8,
        height=4,
        cores_per_router=4,
        topology="mesh",
        torus=False,
        delivery="unicast",
        routing="xy",
        synapse_format="loihi",
        weight_bits=8,
        neurons_per_core=C(1024, "count", "D18 p.89 constraint 1; NL MAX_COMPARTMENTS", "documented"),
        synapse_bits_per_core=C(1_048_576, "bits", "D18 p.89 constraint 2 (16,384 x 64 b)", "documented"),
        in_axons_per_core=C(4096, "count", "D18 p.89 constraint 3; NL MAX_IN_AXONS", "documented"),
        out_axons_per_core=C(4096, "count", "D18 p.89 constraint 4; NL MAX_OUT_AXONS", "documented"),
        intra_core_axons_count=True,
        e_syn=C(23.6, "pJ", t2 + " (a minimum)", sim),
        e_act=C(81.0, "pJ", t2, sim),
        e_inact=C(52.0, "pJ", t2, sim),
        e_msg=C(1.7, "pJ", t2 + " spike within tile, charged per delivered message (assumed use)", sim),
        e_x=C(3.0, "pJ", t2 + " E-W tile hop", sim),
        e_y=C(4.0, "pJ", t2 + " N-S tile hop", sim),
        e_rt=C(0.0, "pJ", "not charged separately on Loihi (reference section 2.3)", "assumed"),
        p_core=C(
            3.34 / 4096,
            "W",
            "F20 Table 1, section 5.2: 3.34 W / 4,096 cores (derived; upper bound)",
            "documented",
        ),
        p_chip=C(0.0, "W", "all leakage put on the cores (reference section 2.3)", "assumed"),
        t_syn=C(3.5, "ns", t2 + " (a maximum)", sim),
        t_act=C(8.4, "ns", t2, sim),
        t_inact=C(5.3, "ns", t2, sim),
        t_local=C(2.1, "ns", t2 + " latency within tile", sim),
        t_x=C(4.1, "ns", t2 + " E-W tile hop", sim),
        t_y=C(6.5, "ns", t2 + " N-S tile hop", sim),
        link_bandwidth=C(3.44, "Gspike/s", t2 + " cross-section bandwidth, used per link (assumed)", sim),
        barrier_one=C(113.0, "ns", t2 + " barrier, 1 tile", sim),
        barrier_full=C(465.0, "ns", t2 + " barrier, 32 tiles; linear in between (assumed)", sim),
        barrier_routers=32,
        notes=(
            "8x4 tile grid from SANA-FE arch/loihi.yaml (assumed aspect ratio).",
            "XY routing and unicast delivery are assumed for Loihi 1.",
            "Static power is an upper bound at an unstated voltage; Table 2 energies are at 0.75 V.",
            "Multi-chip barriers (14.3-16.2 us, F20 section 4.3) are not modelled.",
        ),
    )


def _loihi_fitted() -> Chip:
    fit = "SANA-FE arch/loihi.yaml; Boyle et al., TCAD 2025 (Nahuku board fit)"
    base = _loihi()
    return dataclasses.replace(
        base,
        name="loihi_fitted",
        e_syn=C(35.5, "pJ", fit + " dense synop", "fitted"),
        e_act=C(51.2 + 21.6, "pJ", fit + " neuron access + update", "fitted"),
        e_inact=C(51.2, "pJ", fit + " neuron access", "fitted"),
        e_y=C(4.2, "pJ", fit + " N-S hop", "fitted"),
        t_syn=C(3.8, "ns", fit + " dense synop", "fitted"),
        barrier_one=C(600.0, "ns", fit + " barrier, 1 tile", "fitted"),
        barrier_full=C(1800.0, "ns", fit + " barrier, 29 tiles", "fitted"),
        barrier_routers=29,
        notes=base.notes + ("Fitted values: about 12% energy and 25% latency error vs silicon.",),
    )


def _loihi2() -> Chip:
    base = _loihi()
    inherit = {name: getattr(base, name).inherited_from("loihi") for name in ENERGY_TERMS + TIME_TERMS}
    return dataclasses.replace(
        base,
        name="loihi2",
        neurons_per_core=C(8192, "count", "L2B: 1,048,576 neurons / 128 cores (derived)", "documented"),
        synapse_bits_per_core=C(
            1_048_576, "bits", "L2B 192 KB shared state+synapses; synapse share assumed", "assumed"
        ),
        in_axons_per_core=C(4096, "count", "not public; spikingjelly #543", "inherited"),
        out_axons_per_core=C(4096, "count", "not public; spikingjelly #543", "inherited"),
        **inherit,
        notes=(
            "Geometry 8x4 routers x 4 cores (sources disagree; configurable).",
            "Delivery unknown: unicast inherited from loihi.",
            "No public per-op energy or timing: all inherited from loihi (Intel: 'up to 10x' faster).",
        ),
    )


_SPINN5_CORNERS = tuple(
    (x, y)
    for x in range(8)
    for y in range(8)
    # the 48-chip SpiNN-5 board: row y holds x in [max(0, y - 3), min(7, y + 4)] (SM version_48_chips)
    if x - y > 4 or y - x > 3
)


def _spinnaker() -> Chip:
    sm = "SM version_spin1.py"
    none = "not modelled separately: folded into per-core active power (SM)"
    unk = "not public in these sources (reference section 1.3)"
    return Chip(
        name="spinnaker",
        width=8,
        height=8,
        cores_per_router=16,
        topology="hexagonal",
        torus=False,
        missing_routers=_SPINN5_CORNERS,
        router_is_chip=True,
        delivery="multicast",
        routing="ldf",
        synapse_format="spinnaker",
        weight_bits=16,
        neurons_per_core=C(
            256, "count", "SPY DEFAULT_MAX_ATOMS_PER_CORE (policy, user-settable)", "documented"
        ),
        synapse_bits_per_core=None,
        in_axons_per_core=None,
        out_axons_per_core=None,
        intra_core_axons_count=False,
        router_entries=C(1023, "entries", sm + " (per chip)", "documented"),
        sdram_bytes_per_chip=C(123_469_792, "B", sm, "documented"),
        e_syn=C(0.0, "pJ", none, "documented"),
        e_act=C(0.0, "pJ", none, "documented"),
        e_inact=C(0.0, "pJ", none, "documented"),
        e_msg=C(0.0, "pJ", none, "documented"),
        e_x=C(0.0, "pJ", "charged per router traversal instead (e_rt)", "documented"),
        e_y=C(0.0, "pJ", "charged per router traversal instead (e_rt)", "documented"),
        e_rt=C(1000.0, "pJ", sm + ": 25 pJ/bit x 40-bit packet (derived)", "documented"),
        p_core=C(0.034, "W", sm + " active core", "documented"),
        p_chip=C(0.35, "W", sm + " idle chip", "documented"),
        t_syn=unknown("ns", unk),
        t_act=unknown("ns", unk),
        t_inact=unknown("ns", unk),
        t_local=unknown("ns", unk),
        t_x=unknown("ns", unk),
        t_y=unknown("ns", unk),
        link_bandwidth=unknown("Gspike/s", unk),
        barrier_one=unknown("ns", "global 1 ms clock, no barrier term"),
        barrier_full=unknown("ns", "global 1 ms clock, no barrier term"),
        fixed_step=C(1.0, "ms", "FEC spinnaker.cfg simulation_time_step", "documented"),
        notes=(
            "One SpiNN-5 board: 48 chips, no wrap-around.",
            "16 application cores per chip assumed (18 cores - SCAMP monitor - 1 reserved).",
            "Latency is the fixed 1 ms step; per-op times are unknown, see the per-step loads.",
        ),
    )


def _spinnaker2() -> Chip:
    base = _spinnaker()
    inh = {
        n: getattr(base, n).inherited_from("spinnaker") for n in ("e_rt", "p_core", "p_chip", "fixed_step")
    }
    return dataclasses.replace(
        base,
        name="spinnaker2",
        cores_per_router=150,
        router_entries=C(16_384, "entries", "S2DS; SM version_spin2.py", "documented"),
        sdram_bytes_per_chip=C(2**30, "B", "SM version_spin2.py (1 GiB modelled)", "documented"),
        **inh,
        notes=(
            "48-chip board (v248) assumed; 152 PEs minus 2 SCAMP cores = 150 per chip.",
            "Intra-chip NoC hops are not modelled (cost 0).",
            "Energies and static power unknown (SpiNNMachine raises): spinnaker values inherited.",
        ),
    )


def _truenorth() -> Chip:
    unk = "unpublished (A15 section V-C)"
    allin = "M14 p.7, Fig. 4C: 26 pJ per synaptic event, all-in (0.775 V)"
    zero = "included in the all-in 26 pJ (M14); never add it"
    return Chip(
        name="truenorth",
        width=64,
        height=64,
        cores_per_router=1,
        topology="mesh",
        torus=False,
        delivery="unicast",
        routing="xy",
        synapse_format="truenorth",
        weight_bits=9,
        neurons_per_core=C(256, "count", "M14 section S1", "documented"),
        synapse_bits_per_core=C(65_536, "bits", "M14 S1: 256x256 binary crossbar", "documented"),
        in_axons_per_core=C(256, "count", "M14 section S1", "documented"),
        out_axons_per_core=None,
        intra_core_axons_count=True,
        targets_per_neuron=C(1, "cores", "M14 S1, S4: one target axon per neuron", "documented"),
        energy_mode="all-in",
        e_syn=C(26.0, "pJ", allin, "documented"),
        e_act=C(0.0, "pJ", zero, "documented"),
        e_inact=C(0.0, "pJ", zero, "documented"),
        e_msg=C(0.0, "pJ", zero, "documented"),
        e_x=C(0.0, "pJ", zero + " (component mode: 2.3 pJ/hop, M14 Fig. S4)", "documented"),
        e_y=C(0.0, "pJ", zero, "documented"),
        e_rt=C(0.0, "pJ", zero, "documented"),
        p_core=C(0.0, "W", zero, "documented"),
        p_chip=C(0.0, "W", zero, "documented"),
        t_syn=unknown("ns", unk),
        t_act=unknown("ns", unk),
        t_inact=unknown("ns", unk),
        t_local=unknown("ns", unk),
        t_x=unknown("ns", unk),
        t_y=unknown("ns", unk),
        link_bandwidth=unknown("Gspike/s", unk),
        barrier_one=unknown("ns", "global 1 kHz tick"),
        barrier_full=unknown("ns", "global 1 kHz tick"),
        fixed_step=C(1.0, "ms", "M14 p.4: 1 ms tick", "documented"),
        notes=(
            "Each neuron targets exactly one core: fan-out beyond one core needs splitter neurons.",
            "Only 4 distinct weights per neuron (axon types); not checked.",
            "Energy is all-in (26 pJ per synaptic event); no hop or static term is added.",
        ),
    )


def generic_mesh(
    width: int,
    height: int,
    cores_per_router: int = 1,
    *,
    torus: bool = False,
    delivery: str = "unicast",
    base: str = "loihi",
    **overrides,
) -> Chip:
    """A `width` x `height` router mesh with XY routing for design-space exploration.

    Limits and constants are copied from the `base` preset and tagged `inherited`; each node
    hop is charged the base's tile-hop cost (an `assumed` reading). `generic_mesh(12, 12)` is
    the W-M100k target.

    **Arguments:**
    - `width`, `height`: routers per row / column, integers >= 1.
    - `cores_per_router`: integer >= 1.
    - `torus`: wrap-around links.
    - `delivery`: `"unicast"` or `"multicast"`.
    - `base`: a mesh preset to inherit limits and constants from (`"loihi"`, `"loihi2"`,
      `"truenorth"`, `"loihi_fitted"`).
    - `overrides`: any `Chip` field; plain numbers become `assumed` constants.

    **Returns:** a `Chip`.
    """
    for arg, value in (("width", width), ("height", height), ("cores_per_router", cores_per_router)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"`{arg}` must be an integer >= 1; got {value!r}.")
    if base not in ("loihi", "loihi2", "truenorth", "loihi_fitted"):
        raise ValueError(
            f"`base` must be a mesh preset ('loihi', 'loihi2', 'loihi_fitted', 'truenorth'); got {base!r}."
        )
    src = chip_preset(base)
    inherited = {n: c.inherited_from(base) for n, c in src.constants().items()}
    chip = dataclasses.replace(
        src,
        name=f"generic_mesh({width}x{height}x{cores_per_router}, {base})",
        width=width,
        height=height,
        cores_per_router=cores_per_router,
        torus=torus,
        delivery=delivery,
        barrier_routers=src.barrier_routers,
        **inherited,
        notes=(
            f"Generic mesh: limits and constants inherited from `{base}`; "
            "one node hop costs one tile hop (assumed).",
        ),
    )
    return chip.replace(**overrides) if overrides else chip


_BUILDERS = {
    "loihi": _loihi,
    "loihi_fitted": _loihi_fitted,
    "loihi2": _loihi2,
    "spinnaker": _spinnaker,
    "spinnaker2": _spinnaker2,
    "truenorth": _truenorth,
}


def chip_preset(name: str) -> Chip:
    """A preset `Chip` by name.

    **Arguments:**
    - `name`: one of `"loihi"`, `"loihi_fitted"`, `"loihi2"`, `"spinnaker"`, `"spinnaker2"`,
      `"truenorth"` (use `generic_mesh(...)` for a generic mesh).

    **Returns:** a `Chip`.
    """
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a string; got {type(name).__name__}.")
    if name not in _BUILDERS:
        raise ValueError(
            f"`name` must be one of {tuple(_BUILDERS)} (or call `generic_mesh(width, height)`); got {name!r}."
        )
    return _BUILDERS[name]()
