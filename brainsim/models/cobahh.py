"""Brette et al. (2007) benchmark 3: Hodgkin-Huxley (Traub-Miles) E/I network, COBA synapses."""

import jax.random as jr
from jaxtyping import PRNGKeyArray

from ..dynamics import COBA as COBAOutput, ExponentialSynapseState
from ..dynamics.neurons import HodgkinHuxley
from ..network import Network
from .coba import excitatory_inhibitory_network


def COBAHHNetwork(
    n: int = 4000,
    *,
    key: PRNGKeyArray,
    p: float = 0.02,
    in_degree: int | None = None,
    w_exc: float = 6.0,
    w_inh: float = 67.0,
) -> Network:
    r"""Benchmark 3: Traub-Miles Hodgkin-Huxley neurons with conductance-based synapses.

    Neurons as `HodgkinHuxley` (C = 200 pF, $g_L$ = 10 nS, $E_L$ = -60 mV, $g_{Na}$ = 20 µS,
    $g_K$ = 6 µS, $E_{Na}$ = 50 mV, $E_K$ = -90 mV, $V_T$ = -63 mV); a spike is an upward
    crossing of -20 mV. Synapses as in `COBA` ($\tau_e$ = 5 ms, $\tau_i$ = 10 ms, $E_e$ = 0 mV,
    $E_i$ = -80 mV, `w_exc` = 6 nS, `w_inh` = 67 nS), no external drive. Initial state as Brian2's
    `examples/COBAHH.py`: $v = -65 + 5\,\xi$ mV, $g_e = 40 + 15\,\xi$ nS,
    $g_i = 200 + 120\,\xi$ nS ($\xi \sim \mathcal{N}(0, 1)$ per neuron).

    **Arguments:** as `COBA`. **Returns:** a `Network` with populations `"E"` and `"I"`.
    """
    key_conn, key_init = jr.split(key)
    mean_std = {"E": (40.0, 15.0), "I": (200.0, 120.0)}  # nS, by source population

    def initial_conductance(index, pre, n_post):
        mean, std = mean_std[pre]
        g = mean + std * jr.normal(jr.fold_in(key_init, index), (n_post,))
        return ExponentialSynapseState(g=g)

    return excitatory_inhibitory_network(
        n, key=key_conn, p=p, in_degree=in_degree, neuron=HodgkinHuxley(),
        weights={"E": w_exc, "I": w_inh},
        outputs={"E": COBAOutput(e_rev=0.0), "I": COBAOutput(e_rev=-80.0)},
        initial_synapse_state=initial_conductance,
    )
