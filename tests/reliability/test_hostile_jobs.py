"""Hostile job fields, end to end: simulator -> `notifier run` -> SMTP sink.

Job names (10 kB, control and line-break characters, CR/LF with header text, bidi overrides,
emoji, `../../x`), submitter addresses (no @, CR/LF, lists, angle brackets, IDN, quoted local
parts) and locales (`../../etc/passwd`, CR/LF, 1,000 characters, unknown) all go through the
real daemon. Every email that arrives must be safe: one envelope recipient, the submitter's
own address in its normal form, only the headers the product writes, one To address, a
shipped Content-Language; every other delivery is skipped or dead with a reason. Nothing from
a job field becomes a file: no new file appears anywhere near the store or the working tree.
"""

from __future__ import annotations

import os
from pathlib import Path

from notifier.mail.addresses import InvalidAddress, validate_address
from notifier.mail.i18n import CATALOGS
from tests.reliability.conftest import COMPANY, ROOT, Rig, metric, record_figure, wait_until

NAMES = (
    "A" * 10_240,
    "line\r\nBcc: evil@attacker.example",
    "line\nX-Injected: yes",
    "tab\there and C1 \x85 next line \u2028 separator",
    "\u202eevil\u202c bidi \u2066isolate\u2069",
    "emoji \U0001f4a3\U0001f525\U0001f469\u200d\U0001f4bb",
    "../../x",
    '<script>alert(1)</script> & "quotes"',
    "=?utf-8?q?x=0D=0AReply-To:_attacker@evil.example?=",
)
ADDRESSES = (
    "no-at-sign",
    "victim@example.com\r\nBcc: evil@attacker.example",
    "victim@example.com, evil@attacker.example",
    "Victim <victim@example.com>",
    "<evil@attacker.example>",
    "victim@example.com;evil@attacker.example",
    "user@bücher.example",
    '"quoted local"@example.com',
    '"evil@attacker.example"@example.com',
    "plain@example.com",
)
LOCALES = (
    "../../etc/passwd",
    "en-US\r\nBcc: evil@attacker.example",
    "x" * 1000,
    "zz-ZZ",
    "de_DE.UTF-8",
    "pt-BR",
    "",
)
ALLOWED_HEADERS = {
    "from", "to", "subject", "date", "message-id", "in-reply-to", "references",
    "auto-submitted", "x-auto-response-suppress", "x-ips-job-event", "x-ips-job-outcome",
    "x-ips-job-handle",
    "mime-version", "content-type", "content-language", "content-transfer-encoding",
}  # fmt: skip


def cases() -> list[dict[str, str]]:
    count = max(len(NAMES), len(ADDRESSES), len(LOCALES)) * 2
    return [
        {
            "name": f"{n} {NAMES[n % len(NAMES)]}",
            "submit_user_email": ADDRESSES[n % len(ADDRESSES)],
            "locale": LOCALES[n % len(LOCALES)],
        }
        for n in range(count)
    ] + [
        {
            "name": f"{count} ../../x",
            "submit_user_email": "plain@example.com",
            "locale": "../../etc/passwd",
        }
    ]


def expected_recipient(raw: str) -> str | None:
    try:
        return validate_address(raw)
    except InvalidAddress:
        return None


def files_near(rig: Rig) -> set[Path]:
    places = [rig.tmp, rig.tmp.parent, rig.store.parent, ROOT, ROOT / "tests"]
    found: set[Path] = set()
    for place in places:
        found.update(place / name for name in os.listdir(place))
    for top in (rig.tmp,):
        for folder, _, names in os.walk(top):
            found.update(Path(folder) / name for name in names)
    return found


async def test_hostile_fields_yield_safe_emails_or_reasons(rig: Rig) -> None:
    jobs = cases()
    handles = {}
    for fields in jobs:
        job = rig.sim.add_job(company_handle=COMPANY, state="Running", **fields)
        handles[job.job_handle] = fields
    order = list(handles)
    before = files_near(rig)
    daemon = await rig.started()

    async def listed() -> bool:
        return await metric(daemon, "notifier_active_jobs") == len(jobs)

    await wait_until(listed, 30, "every hostile job listed")
    for handle in handles:
        rig.sim.finish_job(COMPANY, handle, "succeeded")

    async def settled() -> bool:
        total = 0.0
        for result in ("sent", "skipped", "dead"):
            total += await metric(daemon, f'notifier_emails_total{{result="{result}"}}') or 0
        return total >= len(jobs)

    await wait_until(settled, 60, "a verdict for every completion")
    refused = 0.0
    for result in ("skipped", "dead"):
        refused += await metric(daemon, f'notifier_emails_total{{result="{result}"}}') or 0
    assert await daemon.terminate() == 0
    delivered = {}
    for received in rig.sink.messages:
        message = received.message
        # The header carries the handle cleaned and cut short; the job's number leads its name.
        number = int(str(message["X-IPS-Job-Handle"]).split("|")[1].split(" ")[0])
        handle = order[number]
        fields = handles[handle]
        want = expected_recipient(fields["submit_user_email"])
        assert want is not None, f"mailed an invalid address {fields['submit_user_email']!r}"
        assert received.rcpt_tos == (want,)
        names = {key.lower() for key in message}
        assert names <= ALLOWED_HEADERS, f"unexpected headers {names - ALLOWED_HEADERS}"
        to = message.get_all("To")
        assert to is not None and len(to) == 1 and len(to[0].addresses) == 1
        language = str(message["Content-Language"]).replace("-", "_")
        assert language in CATALOGS, language
        raw_head = received.data.split(b"\r\n\r\n", 1)[0]
        assert b"\nBcc" not in raw_head and b"\nX-Injected" not in raw_head
        assert handle not in delivered, "one completion mailed twice"
        delivered[handle] = want
    valid = {h for h, f in handles.items() if expected_recipient(f["submit_user_email"])}
    assert set(delivered) == valid, "a job with a valid address was not mailed"
    assert refused == len(jobs) - len(valid)
    new_files = files_near(rig) - before
    strays = {p for p in new_files if not (p.is_relative_to(rig.store.parent) or p.suffix in (
        ".log", ".toml"))}  # fmt: skip
    assert not strays, f"files appeared outside the store: {strays}"
    record_figure(
        f"hostile job fields: {len(jobs)} jobs (names, addresses, locales): "
        f"{len(delivered)} emails, all safe (one recipient, no injected header); "
        f"{len(jobs) - len(delivered)} skipped or dead with a reason; 0 stray files"
    )
