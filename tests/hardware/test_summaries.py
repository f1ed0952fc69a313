"""`print` of a mapping or a cost report gives a one-line summary, not its arrays."""

import jax.random as jr

import brainsim as bs
from brainsim import hardware as hw


def test_mapping_and_cost_report_print_summaries():
    network = bs.models.COBANetwork(n=400, key=jr.key(0))
    graph = hw.from_network(network, rates=10.0)
    mapping = hw.map_network(graph, hw.Chip.loihi(), "pacman", seed=0)
    text = repr(mapping)
    assert text.startswith("Mapping('pacman' on ") and "400 neurons on" in text and "array" not in text
    report = hw.cost_report(graph, mapping.core_of, mapping.chip)
    text = repr(report)
    assert text.startswith("CostReport(") and "(assumed)" in text and "\n" not in text and "array" not in text
