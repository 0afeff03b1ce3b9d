"""`notifier check-config`: print the effective configuration, secrets redacted, and with
`--connect` prove that IPS and the mail server accept the credentials.

Never prints a password: the configuration is printed through `redacted`, and errors from
the IPS client and the mailer never carry one.
"""

from __future__ import annotations

from typing import TextIO

from notifier.config import Config, redacted, to_toml
from notifier.daemon import ips_client, mailer
from notifier.ips.errors import IpsError
from notifier.mail.sender import DeliveryError


async def check_config(config: Config, *, connect: bool, out: TextIO) -> int:
    out.write("# effective configuration (passwords redacted)\n")
    out.write(to_toml(redacted(config)))
    if not connect:
        out.write("\nconfiguration OK\n")
        return 0
    ok = await _check_ips(config, out)
    ok = await _check_smtp(config, out) and ok
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
