"""`brainsim/graph.py`: a synapse graph prints a summary of its populations and projections,
never its arrays."""

import jax.random as jr

import brainsim as bs


def test_synapse_graph_prints_a_summary_not_its_arrays():
    net = bs.models.COBANetwork(n=500, key=jr.key(0))
    graph = net.synapse_graph()
    text = repr(graph)
    assert text.startswith("SynapseGraph(500 neurons in 2 populations (E: 400, I: 100), 4 projections, ")
    assert f"{graph.n_synapses:,} synapses)" in text
    lines = str(graph).splitlines()
    assert len(lines) == 1 + len(graph.projections)
    first = graph.projections[0]
    assert lines[1].strip() == repr(first)
    assert repr(first).startswith(
        f"ProjectionGraph({first.name!r}: {first.pre_population} -> {first.post_population}, "
    )
    assert repr(first).endswith(f"{first.n_synapses:,} synapses, weight 6, delay 1 steps)")  # COBA: 6 nS
    assert "array" not in str(graph) and "[" not in str(graph)
    assert len(str(graph)) < 200 * len(lines)
