"""Runs `sharded_equality_script.py` in a subprocess on forced host devices (the device count
must be set before JAX starts, and the test process has already started it with one)."""

import json
import os
import pathlib
import subprocess
import sys

SCRIPT = pathlib.Path(__file__).with_name("sharded_equality_script.py")


def run_on_devices(n_devices: int, which: str) -> list[dict]:
    """The script's JSON cases, run with `n_devices` forced CPU devices."""
    env = dict(os.environ)
    env["XLA_FLAGS"] = (
        f"{env.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={n_devices}".strip()
    )
    env["JAX_PLATFORMS"] = "cpu"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), which], env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
