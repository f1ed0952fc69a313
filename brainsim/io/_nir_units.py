r"""The unit convention shared by NIR import and export (see `brainsim.io.nir` for the whole story).

NIR states times in seconds and leaves voltages, currents and resistances in one unspecified
consistent system. brainsim reads that system as mV, pA and G$\Omega$ (mV / pA), so only time
changes scale: one NIR second is `MS_PER_SECOND` ms. A spike is a Dirac pulse of area 1, so a
weight `w` on a spike delivers the charge `w` (pA s) = `1000 w` pA ms.
"""

import numpy as np
from jaxtyping import Float

MS_PER_SECOND = 1000.0
"""brainsim milliseconds per NIR second."""

DELAY_TOLERANCE = 1e-6
"""Relative tolerance (in steps) within which a NIR delay counts as a whole number of steps."""


def dirac_step_factor(dt: float, tau: Float[np.ndarray, " n"]) -> Float[np.ndarray, " n"]:
    r"""$f = x / (e^x - 1)$ with $x = \Delta t / \tau$ (1 where $\tau = \infty$).

    A charge $q$ arriving at the start of a step moves a leaky membrane ($\tau$) by
    $q/C\,e^{-x}$ by the end of the step; a constant current $I$ held over the step moves it by
    $I R (1 - e^{-x})$. They agree when $I = f\,q / \Delta t$, so a spike delivered as the
    step current $f\,q/\Delta t$ reproduces the exact jump of NIR's Dirac input at every step end.

    **Arguments:** `dt` (ms), `tau` (ms, > 0, may be `inf`), shape `(n,)`.
    **Returns:** `f`, shape `(n,)`, in (0, 1].
    """
    x = dt / np.asarray(tau, dtype=np.float64)
    small = x < 1e-8
    safe = np.where(small, 1.0, x)
    return np.where(small, 1.0 - x / 2.0, safe / np.expm1(safe))


def delay_in_steps(delay_seconds: Float[np.ndarray, "..."], dt: float, where: str) -> np.ndarray:
    """A NIR delay (s, >= 0) as whole steps of `dt` (ms); `ValueError` naming `where` if it is
    negative or not a whole number of steps."""
    delay = np.asarray(delay_seconds, dtype=np.float64)
    if not np.all(np.isfinite(delay)) or np.any(delay < 0):
        raise ValueError(f"{where}: delays must be finite and >= 0 s; got {delay.min()}..{delay.max()} s.")
    steps = delay * MS_PER_SECOND / dt
    whole = np.rint(steps)
    if np.any(np.abs(steps - whole) > DELAY_TOLERANCE * np.maximum(1.0, whole)):
        bad = float(delay.flat[int(np.argmax(np.abs(steps - whole)))])
        raise ValueError(
            f"{where}: delay {bad:g} s is {bad * MS_PER_SECOND / dt:g} steps of `dt` = {dt:g} ms; "
            "brainsim delays are whole steps. Choose a `dt` that divides every delay."
        )
    return whole.astype(np.int64)
