r"""`sweep`: one model family run at many parameter points, compiled once per shape.

    result = bs.sweep(build, {"w_inh": [3.0, 5.0, 10.0], "seed": range(30)},
                      duration=1000.0, key=jax.random.key(0),
                      metrics={"rate_E": lambda r: r.rates["E"]})
    result.table          # pandas DataFrame: one row per point, parameters and metrics
    result.compilations   # programs compiled (1 when no parameter changes a shape)

`build(**point)` makes each point's `Network` on the host. Points whose networks have the same
structure (treedef with its static fields, and every array's shape and dtype) are one *group*:
the leaves that differ between them (weights, model parameters, connectivity drawn with
another seed at a seed-stable capacity) are traced and stacked, and the group runs as chunks
of points through one compiled, `jax.vmap`ped program. Parameters that change a shape (`n`, a
connectivity whose synapse count depends on the seed) split the points into groups, one
compilation each. Point `k` uses the key `point_key(key, k)` = `jax.random.fold_in(key, k)`
and gives the spikes of `simulate(network_k, duration, dt, key=point_key(key, k))`.
"""

from collections.abc import Callable, Sequence

import numpy as np
from jaxtyping import PRNGKeyArray
from tqdm.auto import tqdm

from . import _sweep_execute as execute
from ._sweep_points import RESERVED, check_build, check_metrics, column, metric_value, sweep_points
from ._sweep_structure import Layout, point_key as point_key, point_keys, signature
from .network import Network
from .result import SimulationResult
from .run import check_key, check_populations, check_time

ENGINES = ("auto", "generic", "fused")
"""`engine=` choices of `sweep` (as `simulate`'s)."""
BACKENDS = ("local", "ray")
"""`backend=` choices of `sweep`."""


class SweepResult:
    """What `sweep` returns: one row per completed point.

    **Attributes:**
    - `columns`: `{name: NumPy array}`: `point` (the point's index), each parameter and each
      metric, one entry per completed point, in the order points completed (point order
      within a group, groups in order of their first point).
    - `parameters`, `metrics`: the names of the parameter and metric columns.
    - `compilations`: programs compiled for the sweep (one per group when every point has the
      same number of steps per chunk; see `brainsim.sweep`).
    - `compile_seconds`: time spent compiling them.
    - `shape_parameters`: the parameters found to change shapes (which split groups).
    - `groups`: per completed point, the index of its group.
    - `results`: the `SimulationResult` of every completed point (with `keep_results=True`),
      else `None`.
    """

    def __init__(
        self, parameters, metrics, rows, groups, compilations, compile_seconds, shape_parameters, results
    ):
        self.parameters: tuple[str, ...] = parameters
        self.metrics: tuple[str, ...] = metrics
        names = ("point",) + parameters + metrics
        self.columns: dict[str, np.ndarray] = {name: column([row[name] for row in rows]) for name in names}
        self.groups = np.asarray(groups, np.int64)
        self.compilations: int = compilations
        self.compile_seconds: float = compile_seconds
        self.shape_parameters: tuple[str, ...] = shape_parameters
        self.results: list[SimulationResult] | None = results
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def records(self) -> list[dict]:
        """One dict per completed point: `point`, the parameters and the metrics."""
        return [dict(row) for row in self._rows]

    @property
    def table(self):
        """The tidy table: a pandas `DataFrame`, one row per point, columns `point`, the
        parameters and the metrics. Needs pandas (`pip install brainsim[sweep]`); `columns`
        and `records` hold the same without it."""
        import importlib

        try:
            pandas = importlib.import_module("pandas")
        except ImportError as error:
            raise ImportError(
                "`SweepResult.table` needs pandas (`pip install pandas`); `result.columns` (a dict "
                "of NumPy arrays) and `result.records` (a list of dicts) hold the same table."
            ) from error
        return pandas.DataFrame(self.columns)

    def __repr__(self) -> str:
        return (
            f"SweepResult({len(self)} points, parameters {list(self.parameters)}, metrics "
            f"{list(self.metrics)}, {self.compilations} compilation(s))"
        )


class SweepError(RuntimeError):
    """A point of a sweep failed (its build, a NaN/Inf state, or a metric). `result` holds every
    point completed before it; `point` is the failing point's index and `params` its values."""

    def __init__(self, message: str, result: SweepResult, point: int, params: dict):
        super().__init__(message)
        self.result, self.point, self.params = result, point, params


def sweep(
    build: Callable[..., Network],
    params: dict[str, Sequence] | Sequence[dict],
    *,
    duration: float,
    dt: float = 0.1,
    key: PRNGKeyArray,
    metrics: dict[str, Callable[[SimulationResult], float]] | None = None,
    record_spikes: bool | tuple[str, ...] = False,
    batch_size: int | None = None,
    engine: str = "auto",
    keep_results: bool = False,
    backend: str = "local",
    progress: bool = True,
) -> SweepResult:
    r"""Simulate `build(**point)` for every point of `params` and tabulate `metrics`.

    **Arguments:**
    - `build`: a function of the parameters (keyword arguments) returning a `Network`; it runs
      on the host once per point (plus once per parameter while planning the groups).
    - `params`: a grid `{name: [values, ...]}` (every combination, the last name varying
      fastest, as `itertools.product`) or samples `[{name: value, ...}, ...]` (the same names
      in every sample).
    - `duration` (ms, a positive multiple of `dt`), `dt` (ms): as `simulate`, for every point.
    - `key`: a `jax.random` key; point `k` runs with `point_key(key, k)` =
      `jax.random.fold_in(key, k)`, so point `k` alone is
      `simulate(build(**params_k), duration, dt, key=point_key(key, k))`. A connectivity seed
      is a parameter like any other: `build` uses it to draw the network.
    - `metrics`: `{name: function(SimulationResult) -> number}`, computed on the host per point
      (`result.rates["E"]`, `bs.analysis.isi_cv(*result.spikes["E"])`, any function).
    - `record_spikes`: which spiking populations' spikes the metrics may read (`True`: all;
      default `False`: only spike counts per step, hence rates). Spikes are kept per point
      only while its metrics run, unless `keep_results`.
    - `batch_size`: points per compiled, `vmap`ped chunk; default: for the generic engine from
      a 256 MiB budget (at most 64), equal-sized chunks per group; for the fused engine 1
      (measured fastest: the host builds the next point while the native call runs).
    - `engine`: `"auto"`, `"generic"` or `"fused"`, as `simulate`: where the fused native
      engine applies, each point is one native call of the group's compiled program.
    - `keep_results`: keep every point's `SimulationResult` (`result.results`).
    - `backend`: `"local"` (this process) or `"ray"`: chunks of points run as Ray tasks on the
      cluster this process joined (`ray.init(address=...)`; `pip install brainsim[ray]`), each
      retried if its worker dies; rows are assembled by point index, equal to the local ones.
    - `progress`: a tqdm bar over points.

    **Returns:** a `SweepResult` (`table`, `columns`, `records`, `compilations`, `results`).

    Raises `ValueError`/`TypeError` naming the argument for bad input (an empty grid, a
    parameter `build` does not take, a metric that is not a function), before anything runs;
    a point that fails later (its `build`, a NaN/Inf state, a metric that raises or returns a
    non-scalar) raises `SweepError` naming the point, its parameters and the cause, with every
    point completed before it in `error.result`.
    """
    names, points = sweep_points(params)
    check_build(build, names)
    metric_fns = check_metrics(metrics, names)
    dt, n_steps = check_time(duration, dt)
    check_key(key)
    if engine not in ENGINES:
        raise ValueError(f"`engine` must be one of {ENGINES}; got {engine!r}.")
    if backend not in BACKENDS:
        raise ValueError(f"`backend` must be one of {BACKENDS}; got {backend!r}.")
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
    ):
        raise ValueError(f"`batch_size` must be an integer >= 1 or None; got {batch_size!r}.")
    for flag, value in (("keep_results", keep_results), ("progress", progress)):
        if not isinstance(value, bool):
            raise TypeError(f"`{flag}` must be True or False; got {value!r}.")
    state = _Sweep(
        build,
        names,
        points,
        metric_fns,
        dt,
        n_steps,
        key,
        record_spikes,
        batch_size,
        engine,
        keep_results,
        progress,
    )
    if backend == "ray":
        from ._sweep_ray import run_on_ray

        return run_on_ray(state)
    return state.run()


class _Sweep:
    """The state of one sweep: groups, layouts per signature, compiled programs, rows."""

    def __init__(
        self,
        build,
        names,
        points,
        metrics,
        dt,
        n_steps,
        key,
        record_spikes,
        batch_size,
        engine,
        keep,
        progress,
        indices=None,
    ):
        self.build, self.names, self.points, self.metrics = build, names, points, metrics
        # the index of each point in the whole sweep (a Ray task runs a slice of it): keys and
        # the `point` column use it
        self.indices = list(range(len(points))) if indices is None else list(indices)
        self.dt, self.n_steps, self.key, self.record_spikes = dt, n_steps, key, record_spikes
        self.batch_size, self.engine, self.keep, self.progress = batch_size, engine, keep, progress
        self.compiler = execute.Compiler()
        self.layouts: dict[tuple, Layout] = {}
        self.plans: dict = {}
        self.rows: list[dict] = []
        self.groups: list[int] = []
        self.results: list[SimulationResult] = []
        self.shape_parameters: tuple[str, ...] = ()
        self.prebuilt: dict[int, Network] = {}
        self.pending = None
        self.bar = None

    # -- results ----------------------------------------------------------------------------
    def partial(self) -> SweepResult:
        return SweepResult(
            self.names,
            tuple(self.metrics),
            self.rows,
            self.groups,
            self.compiler.count,
            self.compiler.seconds,
            self.shape_parameters,
            self.results if self.keep else None,
        )

    def fail(self, k: int, what: str, cause: BaseException):
        shown = ", ".join(f"{n}={v!r:.40}" for n, v in self.points[k].items())
        raise SweepError(
            f"point {self.indices[k]} ({shown}): {what}: {type(cause).__name__}: {cause}. The "
            f"{len(self.rows)} point(s) completed before it are in `error.result`.",
            self.partial(),
            self.indices[k],
            dict(self.points[k]),
        ) from cause

    def make(self, k: int) -> Network:
        if k in self.prebuilt:  # built while planning the groups
            return self.prebuilt.pop(k)
        try:
            network = self.build(**self.points[k])
            if not isinstance(network, Network):
                raise TypeError(f"`build` must return a `bs.Network`; got {type(network).__name__}")
        except Exception as error:  # noqa: BLE001 - reported with the point, nothing lost
            self.drain()  # the batch already running completes first (or fails first)
            self.fail(k, "`build` failed", error)
        return network

    def drain(self) -> None:
        """Collect the batch in flight, if any."""
        pending, self.pending = self.pending, None
        if pending is not None:
            self.collect(pending)

    # -- planning ---------------------------------------------------------------------------
    def plan_groups(self) -> list[list[int]]:
        """Group points by the values of the parameters that change the network's signature,
        found by building point 0 and, per parameter, the first point where it differs."""
        first = self.prebuilt[0] = self.make(0)
        layout = self.layout_for(first)
        shape_parameters = []
        for name in self.names:
            k = next(
                (j for j, p in enumerate(self.points) if not _equal(p[name], self.points[0][name])), None
            )
            if k is None:
                continue
            probe = self.prebuilt[k] = self.make(k)
            if signature(probe) != layout.signature:
                shape_parameters.append(name)
            else:
                layout.swept = layout.swept | layout.differing(probe)
        self.shape_parameters = tuple(shape_parameters)
        groups: dict = {}
        for k, point in enumerate(self.points):
            groups.setdefault(tuple(_hashable(point[n]) for n in shape_parameters), []).append(k)
        return list(groups.values())

    def probe_group(self, members: list[int], layout: Layout) -> None:
        """Before a group's first program: per parameter that varies within the group, build
        its first point where it differs from the group's first point, and sweep the leaves
        that differ (so the first program already traces them: one compilation per group)."""
        first = self.points[members[0]]
        for name in self.names:
            if name in self.shape_parameters:
                continue
            k = next((j for j in members if not _equal(self.points[j][name], first[name])), None)
            if k is None:
                continue
            probe = self.prebuilt[k] = self.make(k)
            if signature(probe) == layout.signature:
                layout.swept = layout.swept | layout.differing(probe)

    def layout_for(self, network: Network) -> Layout:
        sig = signature(network)
        layout = self.layouts.get(sig)
        if layout is None:
            layout = self.layouts[sig] = Layout(network)
        return layout

    # -- running ----------------------------------------------------------------------------
    def run(self) -> SweepResult:
        groups = self.plan_groups()
        self.bar = tqdm(total=len(self.points), unit="point", desc="sweep", disable=not self.progress)
        try:
            for g, members in enumerate(groups):
                batch, length, spike_pops = None, None, ()
                queue = list(members)
                while queue:
                    networks = [self.make(queue[0])]
                    layout = self.layout_for(networks[0])
                    if batch is None:
                        self.probe_group(members, layout)
                        spike_pops = self.spike_populations(networks[0])
                        fused = self.plan(layout, networks[0], spike_pops, queue[0]) is not None
                        batch, length = execute.batch_and_length(
                            networks[0],
                            layout,
                            len(members),
                            self.n_steps,
                            spike_pops,
                            self.batch_size,
                            fused,
                        )
                    indices = [queue.pop(0)]
                    while queue and len(indices) < batch:
                        indices.append(queue.pop(0))
                        networks.append(self.make(indices[-1]))
                    for launched in self.launch(g, indices, networks, batch, length, spike_pops):
                        self.drain()  # the previous batch, while this one runs
                        self.pending = launched
            self.drain()
        finally:
            self.bar.close()
        return self.partial()

    def spike_populations(self, network: Network) -> tuple[str, ...]:
        recorded = check_populations(network, self.record_spikes, "`record_spikes`")
        emissions = network.emissions()
        return tuple(name for name in recorded if emissions[name] == "spikes")

    def launch(self, group: int, indices, networks, batch: int, length: int, spike_pops):
        """Dispatch the points (split by signature; a point whose structure differs from its
        group's runs with its own program), padded to `batch` by repeating the last point."""
        by_signature: dict = {}
        for k, net in zip(indices, networks, strict=True):
            by_signature.setdefault(signature(net), []).append((k, net))
        for sig, members in by_signature.items():
            layout = self.layouts.get(sig) or self.layout_for(members[0][1])
            ks, nets = [k for k, _ in members], [n for _, n in members]
            for net in nets:
                layout.swept = layout.swept | layout.differing(net)
            size = batch if len(members) == len(indices) else len(members)
            padded_nets = nets + [nets[-1]] * (size - len(nets))
            padded_ks = ks + [ks[-1]] * (size - len(ks))
            running = execute.launch(
                self.compiler,
                layout,
                padded_nets,
                point_keys(self.key, [self.indices[k] for k in padded_ks]),
                padded_ks,
                n_steps=self.n_steps,
                length=length,
                dt=self.dt,
                spike_pops=spike_pops,
                plan=self.plan(layout, nets[0], spike_pops, ks[0]),
            )
            sizes = tuple(nets[0].population_sizes.items())
            projections = tuple(p.name for p in nets[0].projections)
            yield (group, len(ks), running, sizes, projections)

    def plan(self, layout: Layout, network: Network, spike_pops, k: int):
        """The fused plan of a signature and its swept leaves (`None`: the generic engine)."""
        plan_key = (layout.signature, layout.swept, spike_pops)
        if plan_key not in self.plans:
            self.plans[plan_key] = execute.choose_plan(
                self.engine, layout, network, spike_pops, point_key(self.key, self.indices[k])
            )
        return self.plans[plan_key]

    def collect(self, launched) -> None:
        """Fetch a dispatched batch and tabulate its points, in order; the first failure
        raises with everything before it kept."""
        group, n_real, running, sizes, projections = launched
        finished = execute.finish(running, sizes, projections, self.dt)
        for k, done in zip(running.indices[:n_real], finished[:n_real], strict=True):
            if done.nonfinite is not None:
                name, step = done.nonfinite
                self.fail(
                    k,
                    "the state became NaN/Inf",
                    FloatingPointError(f"population `{name}` at step {step} (t = {step * self.dt:g} ms)"),
                )
            row = {"point": self.indices[k], **self.points[k]}
            for name, fn in self.metrics.items():
                try:
                    row[name] = metric_value(name, fn(done.result))
                except Exception as error:  # noqa: BLE001 - reported with the point, nothing lost
                    self.fail(k, f"metric `{name}` failed", error)
            self.rows.append(row)
            self.groups.append(group)
            if self.keep:
                self.results.append(done.result)
            self.bar.update(1)


def _equal(a, b) -> bool:
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    except Exception:  # noqa: BLE001 - values without array semantics: identity/equality
        return a is b or a == b


def _hashable(value):
    try:
        hash(value)
        return value
    except TypeError:
        array = np.asarray(value)
        return (array.shape, array.dtype.str, array.tobytes())


__all__ = ["BACKENDS", "ENGINES", "RESERVED", "SweepError", "SweepResult", "point_key", "sweep"]
