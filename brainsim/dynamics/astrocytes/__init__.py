"""Astrocytes: Ca$^{2+}$/IP$_3$ dynamics (`LiRinzel`) and IP$_3$ gap junctions (`GapJunctions`)."""

from .gap_junctions import GapJunctions as GapJunctions
from .li_rinzel import LiRinzel as LiRinzel, LiRinzelState as LiRinzelState
