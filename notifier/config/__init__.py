"""The configuration: one TOML file, `NOTIFIER_<SECTION>_<KEY>` environment overrides, and
passwords from the file, a `password_file`, the environment or systemd credentials.

`load_config` returns a frozen `Config` or raises `ConfigError` naming the file and the key.
"""

from notifier.config.load import DEFAULT_PATH, ConfigError, config_path, load_config
from notifier.config.model import (
    Config,
    HttpConfig,
    IpsConfig,
    LogConfig,
    LogFormat,
    LogLevel,
    NotifyConfig,
    PollConfig,
    Secret,
    Security,
    SmtpConfig,
    StoreConfig,
    split_listen,
)
from notifier.config.render import redacted, to_toml

__all__ = [
    "DEFAULT_PATH",
    "Config",
    "ConfigError",
    "HttpConfig",
    "IpsConfig",
    "LogConfig",
    "LogFormat",
    "LogLevel",
    "NotifyConfig",
    "PollConfig",
    "Secret",
    "Security",
    "SmtpConfig",
    "StoreConfig",
    "config_path",
    "load_config",
    "redacted",
    "split_listen",
    "to_toml",
]
