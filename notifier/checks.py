"""`notifier check-config`: print the effective configuration, secrets redacted, say which
store it names and warn about missing passwords; with `--connect` prove that IPS and the mail
server accept the credentials, and that each webhook's host can be reached (connected to,
TLS verified; nothing is posted: see notifier/webhook/reach.py).

Never prints a password: the configuration is printed through `redacted`, and errors from
the IPS client and the mailer never carry one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TextIO

import psycopg

from notifier.config import Config, redacted, to_toml
from notifier.ips.errors import IpsError
from notifier.mail.sender import DeliveryError
from notifier.store.open import SERVICE_STATE_DIRECTORY
from notifier.store.postgres.leadership import who_leads
from notifier.store.postgres.schema import current_version
from notifier.store.postgres.target import PostgresTarget, connect
from notifier.store.protocol import StoreError
from notifier.webhook.errors import WebhookError
from notifier.webhook.reach import reach
from notifier.wiring import ips_client, mailer, webhook_targets


async def check_config(config: Config, *, connect: bool, out: TextIO) -> int:
    out.write("# effective configuration (passwords redacted)\n")
    out.write(to_toml(redacted(config)))
    out.write(f"\n{_store_line(config)}\n")
    for warning in password_warnings(config):
        out.write(f"warning: {warning}\n")
    if not connect:
        out.write("\nconfiguration OK\n")
        return 0
    ok = await _check_ips(config, out)
    ok = await _check_smtp(config, out) and ok
    ok = await _check_webhooks(config, out) and ok
    if config.store.is_postgres:
        ok = await _check_postgres(config, out) and ok
    return 0 if ok else 1


async def _check_ips(config: Config, out: TextIO) -> bool:
    try:
        async with ips_client(config) as client:
            await client.check_login()
    except IpsError as exc:
        out.write(f"\nIPS {config.ips.url}: FAILED: {exc}\n")
        return False
    out.write(f"\nIPS {config.ips.url}: logged in as {config.ips.user}\n")
    return True


async def _check_smtp(config: Config, out: TextIO) -> bool:
    smtp = mailer(config)
    where = f"SMTP {config.smtp.host}:{config.smtp.port} ({config.smtp.security.value})"
    try:
        reply = await smtp.check_connection()
    except DeliveryError as exc:
        out.write(f"{where}: FAILED: {exc}\n")
        return False
    finally:
        await smtp.close()
    out.write(f"{where}: OK {reply}\n")
    return True


async def _check_webhooks(config: Config, out: TextIO) -> bool:
    ok = True
    for target in webhook_targets(config):
        try:
            proven = await reach(target)
        except WebhookError as exc:
            out.write(f"webhook {target.name}: FAILED: {exc.reason}\n")
            ok = False
            continue
        out.write(f"webhook {target.name}: reachable: {proven} (nothing posted)\n")
    return ok


async def _check_postgres(config: Config, out: TextIO) -> bool:
    """The shared store: reachable with its password, its schema, and who leads (the role
    of each replica: the leader polls, the others stand by)."""
    target = PostgresTarget(config.store.url, config.store.password.reveal())
    try:
        async with await connect(target, connect_within=10) as conn:
            version = await current_version(conn)
            info = await who_leads(conn) if version else None
    except (StoreError, psycopg.Error) as exc:
        out.write(f"store {target.describe()}: FAILED: {exc}\n")
        return False
    if info is None:
        out.write(f"store {target.describe()}: connected; empty (`notifier run` migrates it)\n")
        return True
    out.write(f"store {target.describe()}: connected, schema version {version}; ")
    out.write(f"{info.describe()}\n")
    return True


def _store_line(config: Config) -> str:
    if config.store.is_postgres:
        target = PostgresTarget(config.store.url)
        return (
            f"store: {target.describe()} (PostgreSQL, shared by replicas: one polls, "
            f"leadership lease {config.store.leader_lease:g} s)"
        )
    path = config.store.path
    if path.is_file():
        return f"store: {path} (exists)"
    return (
        f"store: {path} (does not exist yet: `notifier run` creates it; the service keeps its "
        f"own under $STATE_DIRECTORY, {SERVICE_STATE_DIRECTORY} with the shipped unit)"
    )


def password_warnings(config: Config) -> Iterator[str]:
    """What is missing for a login to work: IPS always needs a password; SMTP with a user."""
    if not config.ips.password.reveal():
        yield (
            f"no IPS password for {config.ips.user}: IPS refuses every poll without one. Set "
            "NOTIFIER_IPS_PASSWORD(_FILE), the systemd credential ips-password, "
            "ips.password_file or ips.password"
        )
    if config.smtp.user and not config.smtp.password.reveal():
        yield (
            f"smtp.user is {config.smtp.user!r} but there is no SMTP password: the relay's "
            "AUTH will fail. Set NOTIFIER_SMTP_PASSWORD(_FILE), the systemd credential "
            'smtp-password, smtp.password_file or smtp.password (or smtp.user = "" for a '
            "relay without login)"
        )
