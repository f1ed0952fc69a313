"""`LiRinzel` against stored Brian2 numbers: the same equations (Stimberg et al. 2019's G-ChI
astrocyte, Fig. 2 parameters) written in Brian2's syntax from the paper, not from brainsim.

Generated with Brian2 2.9.0 (numpy target, `method='rk4'`, `dt = 1*ms`): two astrocytes from
C = 0.01 µM, h = 0.9, I = 0.01 µM, Gamma_A = 0 under constant glutamate Y_S = 0 and 1 µM,
recorded by a `StateMonitor(dt=1*second)` at the times below (values in µM, rounded to 1e-10).
"""

import diffrax
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

import brainsim as bs
from brainsim.dynamics.astrocytes import LiRinzel

# fmt: off
BRIAN2_SECONDS = np.r_[np.arange(0, 15), np.arange(15, 60, 5)]  # 0, 1, ..., 14, 15, 20, ..., 55 s
BRIAN2_C = np.array([
    [
        0.0100000000, 0.0523149761, 0.0525216869, 0.0526157454, 0.0527237222, 0.0528398919,
        0.0529594601, 0.0530788448, 0.0531954761, 0.0533075846, 0.0534140148, 0.0535140731,
        0.0536074074, 0.0536939136, 0.0537736650, 0.0538468583, 0.0541256302, 0.0542922879,
        0.0543866092, 0.0544368138, 0.0544610961, 0.0544706762, 0.0544722872, 0.0544698788,
    ],
    [
        0.0100000000, 0.2114680563, 0.8495499265, 0.5280824662, 0.3801424774, 0.4232994335,
        0.4255643105, 0.3821159293, 0.3716316018, 0.3910404993, 0.3977938240, 0.3826402861,
        0.3732975648, 0.3819176344, 0.3916988615, 0.3871528036, 0.3822366720, 0.3809467743,
        0.3815548546, 0.3826114126, 0.3833599201, 0.3836492713, 0.3836308618, 0.3835030952,
    ],
])
BRIAN2_I = np.array([
    [
        0.0100000000, 0.0133708082, 0.0176799762, 0.0215836753, 0.0251212374, 0.0283311991,
        0.0312471689, 0.0338985715, 0.0363112941, 0.0385082221, 0.0405096812, 0.0423337996,
        0.0439968065, 0.0455132798, 0.0468963521, 0.0481578841, 0.0529853147, 0.0560283262,
        0.0579376226, 0.0591274341, 0.0598623853, 0.0603113238, 0.0605816181, 0.0607412315,
    ],
    [
        0.0100000000, 0.4983599048, 0.2380795416, 0.2042994567, 0.4053762606, 0.5291866985,
        0.5113499226, 0.5762981297, 0.6915733715, 0.7365054777, 0.7125630710, 0.7175921529,
        0.7664226998, 0.7959442243, 0.7767305031, 0.7561320101, 0.7713343363, 0.7811703952,
        0.7861988549, 0.7872989540, 0.7864090014, 0.7851640339, 0.7843513283, 0.7840743119,
    ],
])
# fmt: on


def test_trajectories_match_brian2():
    """`bs.run` (Tsit5, dt = 10 ms, float64) against Brian2's RK4 at 1 ms: the glutamate-driven
    astrocyte fires a Ca2+ spike (0.85 µM at 2 s) and settles; both agree to 1e-7."""
    with jax.enable_x64(True):
        network = bs.Network(
            [bs.Population("A", 2, LiRinzel(), solver=diffrax.Tsit5())],
            [],
            [bs.ConstantCurrent("A", jnp.array([0.0, 1.0]))],  # glutamate, µM
        )
        result = bs.run(network, 55_000.0, 10.0, key=jr.key(0), monitors=["A.I"])
        steps = BRIAN2_SECONDS[1:] * 100 - 1  # the output of step k is the state at (k + 1) x 10 ms
        calcium = np.asarray(result.outputs["A"])[steps].T
        ip3 = np.asarray(result.traces["A.I"])[steps].T
    np.testing.assert_allclose(calcium, BRIAN2_C[:, 1:], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ip3, BRIAN2_I[:, 1:], rtol=1e-7, atol=1e-9)
