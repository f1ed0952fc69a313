"""The Ray backend of `sweep`: chunks of points as Ray tasks, assembled by point index.

The driver plans the groups (as the local backend does) and cuts each group into chunks; each
chunk is a task that runs the local sweep on its points with their global indices, so keys,
rows and results are those of the local backend. A task whose worker dies is retried by Ray
(`max_retries`); a task returns its rows (it never raises), so a point that fails in one chunk
loses nothing computed in any chunk. Ray is the optional `ray` extra, imported only here.
"""

import importlib

import jax
import jax.random as jr
import numpy as np
from tqdm.auto import tqdm

MAX_RETRIES = 3
"""Times a chunk is retried when its worker dies."""


def _key_payload(key):
    """A picklable form of a `jax.random` key."""
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        return np.asarray(jr.key_data(key)), str(jr.key_impl(key))
    return np.asarray(key), None


def _key_from(payload):
    data, impl = payload
    return jr.wrap_key_data(data, impl=impl) if impl is not None else jax.device_put(data)


def _run_chunk(state_fields: dict, indices: list[int], points: list[dict], key_payload) -> dict:
    """One task: the local sweep of `points` (global `indices`); its rows, never an exception."""
    from .sweep import SweepError, _Sweep

    fields = dict(state_fields, key=_key_from(key_payload), progress=False)
    local = _Sweep(points=points, indices=indices, **fields)
    error = None
    try:
        local.run()
    except SweepError as failure:
        error = (failure.point, failure.params, str(failure))
    return {
        "rows": local.rows,
        "results": local.results if local.keep else None,
        "compilations": local.compiler.count,
        "compile_seconds": local.compiler.seconds,
        "error": error,
    }


def run_on_ray(state):
    """Run the planned sweep `state` (a `_Sweep`) on the Ray cluster this process joined."""
    from .sweep import SweepError, SweepResult

    try:
        ray = importlib.import_module("ray")
    except ImportError as error:
        raise ImportError("`backend='ray'` needs Ray: `pip install brainsim[ray]`.") from error
    if not ray.is_initialized():
        raise ValueError(
            "`backend='ray'` needs a Ray cluster: call `ray.init(address=...)` (or `ray.init()` "
            "for one on this machine) before `sweep`."
        )
    groups = state.plan_groups()
    state.prebuilt.clear()  # the workers build their own networks
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    fields = {
        "build": state.build,
        "names": state.names,
        "metrics": state.metrics,
        "dt": state.dt,
        "n_steps": state.n_steps,
        "record_spikes": state.record_spikes,
        "batch_size": state.batch_size,
        "engine": state.engine,
        "keep": state.keep,
    }
    task = ray.remote(max_retries=MAX_RETRIES, retry_exceptions=False)(_run_chunk)
    payload = _key_payload(state.key)
    shared = ray.put(fields)
    pending, group_of = {}, {}
    for g, members in enumerate(groups):
        size = state.batch_size or -(-len(members) // cpus)
        for start in range(0, len(members), size):
            chunk = members[start : start + size]
            ref = task.remote(shared, chunk, [state.points[k] for k in chunk], payload)
            pending[ref] = chunk
            group_of[ref] = g
    outcomes, groups_of_rows = [], {}
    bar = tqdm(total=len(state.points), unit="point", desc="sweep (ray)", disable=not state.progress)
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                outcome = ray.get(ref)
                outcomes.append(outcome)
                for row in outcome["rows"]:
                    groups_of_rows[row["point"]] = group_of[ref]
                bar.update(len(outcome["rows"]))
                del pending[ref]
    finally:
        bar.close()
    paired = sorted(
        (
            (row, result)
            for o in outcomes
            for row, result in zip(o["rows"], o["results"] or [None] * len(o["rows"]), strict=True)
        ),
        key=lambda pair: pair[0]["point"],
    )
    rows = [row for row, _ in paired]
    result = SweepResult(
        state.names,
        tuple(state.metrics),
        rows,
        [groups_of_rows[row["point"]] for row in rows],
        sum(o["compilations"] for o in outcomes),
        sum(o["compile_seconds"] for o in outcomes),
        state.shape_parameters,
        [r for _, r in paired] if state.keep else None,
    )
    errors = sorted(o["error"] for o in outcomes if o["error"] is not None)
    if errors:
        point, params, message = errors[0]
        raise SweepError(
            f"{message} (Ray backend: every other completed point is kept too)", result, point, params
        )
    return result
