"""`brainsim/hardware/network_graph.py` (its summary): a `NeuronGraph` prints sizes and rates,
never its arrays."""

import numpy as np

import brainsim.hardware as hw


def test_neuron_graph_prints_a_summary_not_its_arrays():
    graph = hw.from_arrays(
        5, np.array([0, 1, 2, 3]), np.array([1, 2, 3, 4]), rates=np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    )
    expected = "NeuronGraph(5 neurons in 1 populations (pop0), 4 synapses, rates 0..4 Hz (mean 2 Hz), "
    assert repr(graph) == expected + "weights none)"
    sheets = hw.modular_sheets(seed=0, modules_per_side=3, side=5, local_in=8).graph
    text = repr(sheets)
    assert text.startswith("NeuronGraph(225 neurons in 9 populations (module0, module1, module2, module3, ")
    assert "... (9 in all)" in text and "[" not in text and len(text) < 300
