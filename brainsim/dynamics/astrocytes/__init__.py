"""Astrocytes: Ca$^{2+}$/IP$_3$ dynamics (`LiRinzel`), IP$_3$ gap junctions (`GapJunctions`) and
gliotransmission (`GliotransmitterRelease`, `PresynapticReceptors`)."""

from .gap_junctions import GapJunctions as GapJunctions
from .gliotransmission import (
    GliotransmitterRelease as GliotransmitterRelease,
    GliotransmitterReleaseState as GliotransmitterReleaseState,
    PresynapticReceptors as PresynapticReceptors,
    PresynapticReceptorsState as PresynapticReceptorsState,
)
from .li_rinzel import (
    PER_SECOND_TO_PER_MS as PER_SECOND_TO_PER_MS,
    LiRinzel as LiRinzel,
    LiRinzelState as LiRinzelState,
)
