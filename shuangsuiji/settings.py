"""Configuration loading: config/default.py, then config/<env>.py, then SHUANGSUIJI_* variables.

Every key must be declared in config/default.py; anything else stops start-up with a message
naming the key and where it came from.
"""

from __future__ import annotations

import os
import runpy
from pathlib import Path

PREFIX = "SHUANGSUIJI_"
ENVIRONMENTS = ("development", "testing", "production")


class ConfigError(RuntimeError):
    """Start-up refused because of the configuration."""


def config_dir() -> Path:
    explicit = os.environ.get("SHUANGSUIJI_CONFIG_DIR")
    if explicit:
        return Path(explicit)
    return Path(__file__).resolve().parent.parent / "config"


def _module_keys(path: Path) -> dict:
    namespace = runpy.run_path(str(path))
    return {k: v for k, v in namespace.items() if k.isupper()}


def _coerce(key: str, raw: str, default):
    if isinstance(default, bool):
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{PREFIX}{key}: expected true/false, got {raw!r}")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{PREFIX}{key}: expected an integer, got {raw!r}") from None
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{PREFIX}{key}: expected a number, got {raw!r}") from None
    return raw


def _size_problems(values: dict) -> list[str]:
    """The request cap must admit every upload and body limit below it, or that limit is a
    lie: a 300 MiB import behind a 200 MiB cap fails with the cap's 413."""
    cap = values.get("REQUEST_MAX_BYTES")
    return [
        f"{PREFIX}REQUEST_MAX_BYTES ({cap}) must be larger than {PREFIX}{key} ({values[key]}) "
        f"plus room for the form around it (e.g. {values[key] + 1048576})"
        for key in ("IMPORT_MAX_BYTES", "RESULT_ATTACHMENT_MAX_BYTES", "API_MAX_JSON_BYTES")
        if cap is not None and key in values and cap <= values[key]
    ]


def load(overrides: dict | None = None, environ: dict | None = None) -> dict:
    """Return the merged configuration, or raise ConfigError naming every problem found."""
    environ = os.environ if environ is None else environ
    overrides = overrides or {}
    directory = config_dir()
    defaults = _module_keys(directory / "default.py")
    problems: list[str] = []

    env = environ.get(PREFIX + "ENV") or overrides.get("ENV") or "development"
    if env not in ENVIRONMENTS:
        raise ConfigError(f"{PREFIX}ENV={env!r}: must be one of {', '.join(ENVIRONMENTS)}")
    values = dict(defaults)
    values["ENV"] = env
    env_file = directory / f"{env}.py"
    if env_file.exists():
        unknown_in_file = f"{env_file}: unknown key {{}} (not declared in default.py)"
        _merge(values, _module_keys(env_file), defaults, unknown_in_file, problems)
    values.update(_from_environ(environ, defaults, problems))
    _merge(values, overrides, defaults, "override: unknown key {}", problems)
    problems += _secret_problems(values) + _size_problems(values)
    if problems:
        raise ConfigError("configuration refused:\n  - " + "\n  - ".join(problems))
    return values


def _merge(values: dict, layer: dict, defaults: dict, unknown: str, problems: list[str]) -> None:
    """Apply one layer of keys (an environment file, the overrides); a key not declared in
    default.py is a problem, described by `unknown` with the key in place of {}."""
    for key, value in layer.items():
        if key not in defaults:
            problems.append(unknown.replace("{}", key))
        else:
            values[key] = value


def _from_environ(environ, defaults: dict, problems: list[str]) -> dict:
    """The SHUANGSUIJI_* variables, typed like their defaults, and DATABASE_URL unprefixed."""
    found = {}
    for name, raw in environ.items():
        if not name.startswith(PREFIX) or name in (PREFIX + "ENV", PREFIX + "CONFIG_DIR"):
            continue
        key = name[len(PREFIX) :]
        if key not in defaults:
            problems.append(f"environment variable {name}: unknown key {key}")
            continue
        try:
            found[key] = _coerce(key, raw, defaults[key])
        except ConfigError as exc:
            problems.append(str(exc))
    if environ.get("DATABASE_URL") and not environ.get(PREFIX + "DATABASE_URL"):
        found["DATABASE_URL"] = environ["DATABASE_URL"]
    return found


def _secret_problems(values: dict) -> list[str]:
    """What production needs (a real secret key, a database, shared rate-limit counters)."""
    problems = []
    if values["ENV"] == "production":
        if not values["SECRET_KEY"] or len(values["SECRET_KEY"]) < 32:
            problems.append(
                f"production needs {PREFIX}SECRET_KEY (at least 32 characters, e.g. "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`)"
            )
        if not values["DATABASE_URL"]:
            problems.append(f"production needs {PREFIX}DATABASE_URL (or DATABASE_URL)")
        if values["RATELIMIT_STORAGE_URI"].startswith("memory://"):
            problems.append(
                f"production needs {PREFIX}RATELIMIT_STORAGE_URI=redis://… : memory:// counts "
                "per gunicorn worker, so login throttling would not hold"
            )
    elif not values["SECRET_KEY"]:
        problems.append(f"{PREFIX}SECRET_KEY is empty")
    return problems
