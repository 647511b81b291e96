"""One typed ``Settings`` object, read from the TOML file and the environment, validated at start.

Precedence, highest first: conventional variables (``TELEGRAM_BOT_TOKEN``, ``DATABASE_URL`` …),
``WIREWATCH_<SECTION>__<KEY>`` variables, the TOML file (``WIREWATCH_CONFIG`` or the bundled
``config/wirewatch.toml``), then the defaults below. ``describe_validation_error`` turns a pydantic
error into the one line a person needs to fix it.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from bot.errors import ConfigError
from bot.paths import bundled_config_dir

__all__ = ["Settings", "describe_validation_error", "load_settings"]

ENV_PREFIX = "WIREWATCH_"

# Conventional variable name → path inside Settings.
CONVENTIONAL_ENV: dict[str, tuple[str, ...]] = {
    "TELEGRAM_BOT_TOKEN": ("telegram", "bot_token"),
    "TELEGRAM_API_BASE_URL": ("telegram", "api_base_url"),
    "SLACK_BOT_TOKEN": ("slack", "bot_token"),
    "SLACK_SIGNING_SECRET": ("slack", "signing_secret"),
    "SLACK_APP_TOKEN": ("slack", "app_token"),
    "SLACK_API_BASE_URL": ("slack", "api_base_url"),
    "DATABASE_URL": ("database_url",),
    "REDIS_URL": ("redis_url",),
}


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PollSettings(Section):
    interval: int = Field(300, ge=1, description="normal seconds between polls of a feed")
    min_interval: int = Field(60, ge=1, description="busy feeds are polled no faster than this")
    max_interval: int = Field(21600, ge=1, description="cap for error backoff and server hints")
    concurrency: int = Field(20, ge=1, description="feeds fetched at the same time")
    first_fetch_max_age: int = Field(
        86400, ge=0, description="on a feed's first fetch, alert only items newer than this"
    )
    max_item_age: int = Field(7 * 86400, ge=0, description="never alert items older than this")

    @model_validator(mode="after")
    def _ordered(self) -> PollSettings:
        if not self.min_interval <= self.max_interval:
            raise ValueError("min_interval must not exceed max_interval")
        return self


class FetchSettings(Section):
    allow_private_networks: bool = False
    max_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    connect_timeout: float = Field(10.0, gt=0)
    read_timeout: float = Field(20.0, gt=0)
    total_timeout: float = Field(60.0, gt=0)
    max_redirects: int = Field(5, ge=0)
    per_host: int = Field(2, ge=1)
    user_agent: str = "Wirewatch/0.1 (+https://github.com/wirewatch/wirewatch; news alert bot)"
    parse_timeout: float = Field(20.0, gt=0, description="seconds one feed may take to parse")


class DeliverySettings(Section):
    backoff: float = Field(
        5.0, gt=0, description="seconds before retrying a failed send, doubled after each failure"
    )
    lease: float = Field(
        120.0,
        gt=0,
        description="seconds a claimed alert stays with its sender: after a crash it is resent "
        "when the lease runs out; keep it longer than any one send can take",
    )


class HttpSettings(Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)


class TelegramSettings(Section):
    bot_token: SecretStr | None = None
    api_base_url: str | None = None
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None


class SlackSettings(Section):
    bot_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    app_token: SecretStr | None = None
    api_base_url: str | None = None
    admins_only: bool = False


class ChatSettings(Section):
    allow_user_feeds: bool = False
    operators: list[str] = Field(
        default_factory=list, description='users who manage feeds, e.g. "telegram:12345"'
    )
    max_subscriptions: int = Field(50, ge=1)
    max_custom_topics: int = Field(20, ge=0)
    max_feeds: int = Field(20, ge=1, description="feeds one chat may add with addfeed")


class DigestSettings(Section):
    send_empty: bool = Field(False, description="send a digest even when nothing matched")
    grace: int = Field(
        6 * 3600, ge=0, description="seconds a missed digest may still go out late, after downtime"
    )
    max_stories_per_topic: int = Field(10, ge=1, le=50)


class ConsoleSettings(Section):
    enabled: Literal["auto", "always", "never"] = Field(
        "auto", description="auto: print alerts when no chat platform is configured"
    )
    topics: list[str] = Field(default_factory=list, description="empty: every topic")


class LogSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"


class FeedEntry(Section):
    url: str
    title: str | None = None
    interval: int | None = Field(None, ge=1)
    fulltext: bool = False


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid"
    )

    database_url: str = "sqlite+aiosqlite:///./data/wirewatch.db"
    redis_url: str | None = Field(
        None,
        description="redis://… shared by the replicas for flood limits (the bot's 30 messages a "
        "second, each chat's gap); without it each replica keeps the bot's limit alone",
    )
    feeds_file: str | None = Field(
        "feeds.opml", description="OPML with default feeds, relative to the config file"
    )
    poll: PollSettings = PollSettings()
    fetch: FetchSettings = FetchSettings()
    http: HttpSettings = HttpSettings()
    delivery: DeliverySettings = DeliverySettings()
    telegram: TelegramSettings = TelegramSettings()
    slack: SlackSettings = SlackSettings()
    chat: ChatSettings = ChatSettings()
    digest: DigestSettings = DigestSettings()
    console: ConsoleSettings = ConsoleSettings()
    log: LogSettings = LogSettings()
    feeds: list[FeedEntry] = Field(default_factory=list)
    topics: list[dict[str, Any]] = Field(default_factory=list)

    # Set by load_settings: where the TOML came from, to find topics.toml and feeds.opml beside it.
    config_path: Path | None = None

    @property
    def config_dir(self) -> Path:
        return self.config_path.parent if self.config_path else bundled_config_dir()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            ConventionalEnvSource(settings_cls),
            env_settings,
            TomlFileSource(settings_cls),
        )


class ConventionalEnvSource(EnvSettingsSource):
    """Reads the platform's conventional variable names into their nested places."""

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, path in CONVENTIONAL_ENV.items():
            value = os.environ.get(name)
            if value is None or value == "":
                continue
            target = values
            for key in path[:-1]:
                target = target.setdefault(key, {})
            target[path[-1]] = value
        return values


class TomlFileSource(PydanticBaseSettingsSource):
    """The TOML file named by ``WIREWATCH_CONFIG``, else the bundled defaults."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ returns the whole file at once

    def __call__(self) -> dict[str, Any]:
        path = config_file_path()
        try:
            return tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path} (WIREWATCH_CONFIG)") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"config file {path} is not valid TOML: {error}") from None


def config_file_path() -> Path:
    configured = os.environ.get("WIREWATCH_CONFIG")
    if configured:
        return Path(configured).expanduser()
    return bundled_config_dir() / "wirewatch.toml"


def load_settings(**overrides: Any) -> Settings:
    """Read and validate every setting; raises ConfigError with one readable line."""
    try:
        return Settings(**overrides, config_path=config_file_path())
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error)) from None


def describe_validation_error(error: ValidationError) -> str:
    """``invalid setting poll.interval (WIREWATCH_POLL__INTERVAL): Input should be …``."""
    first = error.errors()[0]
    location = [str(part) for part in first["loc"]]
    dotted = ".".join(location) or "settings"
    env_name = _env_name(location)
    more = len(error.errors()) - 1
    suffix = f" (and {more} more)" if more else ""
    return f"invalid setting {dotted} ({env_name}): {first['msg']}{suffix}"


def _env_name(location: list[str]) -> str:
    for name, path in CONVENTIONAL_ENV.items():
        if tuple(location) == path:
            return name
    return ENV_PREFIX + "__".join(part.upper() for part in location)
