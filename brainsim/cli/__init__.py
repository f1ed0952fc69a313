"""The `brainsim` command line: `demo`, `run CONFIG.toml`, `map CONFIG.toml --chip ...`,
`sweep CONFIG.toml` (the grid of the config's `[sweep]` table, through `bs.sweep`).

Config files are TOML, checked against a declarative schema (`SCHEMA`, rendered in
`docs/cli.md`); every mistake is a `ConfigError` naming the key and its line.
"""

from .build import build_network as build_network, keys as keys
from .config import Config as Config, load_config as load_config
from .main import main as main, parser as parser
from .reference import reference_markdown as reference_markdown
from .schema import SCHEMA as SCHEMA, ConfigError as ConfigError
