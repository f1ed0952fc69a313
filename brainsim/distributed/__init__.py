"""Multi-device simulation: a network's neurons sharded over a 1-D device mesh.

```python
sharded = bs.distributed.shard(network, 4, partition="metis")
result = bs.distributed.run_sharded(sharded, 100.0, 0.1, key=jax.random.key(0))
```

See `docs/distributed.md`.
"""

from .exchange import CommunicationReport as CommunicationReport
from .layout import DeviceLayout as DeviceLayout
from .localize import post_columns as post_columns
from .run import run_sharded as run_sharded
from .sharded import PARTITIONS as PARTITIONS, ShardedNetwork as ShardedNetwork, shard as shard
from .workload import clustered_network as clustered_network

__all__ = [
    "CommunicationReport",
    "DeviceLayout",
    "PARTITIONS",
    "ShardedNetwork",
    "clustered_network",
    "post_columns",
    "run_sharded",
    "shard",
]
