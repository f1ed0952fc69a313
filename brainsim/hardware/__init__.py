"""Hardware mapping: chip presets, partition, place, route, cost model, constrained simulation.

See `docs/hardware.md`. Typical use:

```python
rates = bs.hardware.rates_from_spikes(network.synapse_graph(), result)
graph = bs.hardware.from_network(network, rates=rates)
mapping = bs.hardware.map_network(graph, bs.hardware.Chip.loihi(), "traffic", seed=0)
report = bs.hardware.cost_report(graph, mapping.core_of, mapping.chip)
```
"""

from .chips import DIRECTION_NAMES as DIRECTION_NAMES, Chip as Chip
from .constrained import (
    ConstrainedRun as ConstrainedRun,
    Divergence as Divergence,
    add_noc_delay as add_noc_delay,
    constrained_simulation as constrained_simulation,
    enforce_fan_in as enforce_fan_in,
    noc_extra_delay as noc_extra_delay,
    quantise_weights as quantise_weights,
    spike_divergence as spike_divergence,
)
from .constraints import (
    CoreUsage as CoreUsage,
    InfeasibleMappingError as InfeasibleMappingError,
    Violation as Violation,
    check_constraints as check_constraints,
    check_neuron_fits as check_neuron_fits,
    core_usage as core_usage,
    loihi_axon_bits as loihi_axon_bits,
    minimum_cores as minimum_cores,
    partition_fits as partition_fits,
    search_core_count as search_core_count,
)
from .cost import CostReport as CostReport, cost_report as cost_report
from .mapping import (
    MAPPERS as MAPPERS,
    Mapping as Mapping,
    map_network as map_network,
    part_traffic as part_traffic,
)
from .network_graph import (
    NeuronGraph as NeuronGraph,
    from_arrays as from_arrays,
    from_network as from_network,
    from_synapse_graph as from_synapse_graph,
    rates_from_spikes as rates_from_spikes,
)
from .partition import (
    contiguous_slices as contiguous_slices,
    metis_graph as metis_graph,
    metis_partition as metis_partition,
    repair_neuron_counts as repair_neuron_counts,
    split_until_fits as split_until_fits,
)
from .place import (
    anneal_placement as anneal_placement,
    hierarchical_placement as hierarchical_placement,
    neighbour_first_placement as neighbour_first_placement,
    router_distance as router_distance,
    sequential_placement as sequential_placement,
)
from .presets import PRESETS as PRESETS, chip_preset as chip_preset, generic_mesh as generic_mesh
from .provenance import TAGS as TAGS, Constant as Constant
from .refine import refine_assignment as refine_assignment
from .report import (
    mapping_report as mapping_report,
    plot_core_load as plot_core_load,
    plot_link_load as plot_link_load,
    plot_population_traffic as plot_population_traffic,
    population_traffic as population_traffic,
)
from .route import (
    hop_counts as hop_counts,
    link_endpoints as link_endpoints,
    multicast_tree as multicast_tree,
    route_links as route_links,
    router_table_entries as router_table_entries,
)
from .soft_cost import (
    core_distance as core_distance,
    expected_spike_hops as expected_spike_hops,
    gradient_placement as gradient_placement,
    placement_cost as placement_cost,
    synapse_hop_cost as synapse_hop_cost,
)
from .traffic_mapper import traffic_aware_mapping as traffic_aware_mapping
from .workload import (
    SheetWorkload as SheetWorkload,
    geometric_oracle as geometric_oracle,
    modular_sheets as modular_sheets,
    w_m100k as w_m100k,
)

__all__ = [
    "DIRECTION_NAMES",
    "Chip",
    "ConstrainedRun",
    "Divergence",
    "add_noc_delay",
    "constrained_simulation",
    "enforce_fan_in",
    "noc_extra_delay",
    "quantise_weights",
    "spike_divergence",
    "CoreUsage",
    "InfeasibleMappingError",
    "Violation",
    "check_constraints",
    "check_neuron_fits",
    "core_usage",
    "loihi_axon_bits",
    "minimum_cores",
    "partition_fits",
    "search_core_count",
    "CostReport",
    "cost_report",
    "MAPPERS",
    "Mapping",
    "map_network",
    "part_traffic",
    "NeuronGraph",
    "from_arrays",
    "from_network",
    "from_synapse_graph",
    "rates_from_spikes",
    "contiguous_slices",
    "metis_graph",
    "metis_partition",
    "repair_neuron_counts",
    "split_until_fits",
    "anneal_placement",
    "hierarchical_placement",
    "neighbour_first_placement",
    "router_distance",
    "sequential_placement",
    "PRESETS",
    "chip_preset",
    "generic_mesh",
    "TAGS",
    "Constant",
    "refine_assignment",
    "mapping_report",
    "plot_core_load",
    "plot_link_load",
    "plot_population_traffic",
    "population_traffic",
    "hop_counts",
    "link_endpoints",
    "multicast_tree",
    "route_links",
    "router_table_entries",
    "core_distance",
    "expected_spike_hops",
    "gradient_placement",
    "placement_cost",
    "synapse_hop_cost",
    "traffic_aware_mapping",
    "SheetWorkload",
    "geometric_oracle",
    "modular_sheets",
    "w_m100k",
]
