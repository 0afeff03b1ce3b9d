"""Logging to stderr for journald or a terminal, as text or JSON lines, with secrets redacted.

Owns the log format, the names of the structured fields (`LogField`) and the last line of
defence against leaked passwords: every value given to `register_secret` is replaced by `***`
in every record before it is written. Never writes anywhere but the one stream it is given
(stderr by default).

Structured fields travel as `extra=` of a log call; `log.format = "json"` writes each as a
key of the line's object, beside ts, level, logger and message (the text formats show the
message only). Event lines take `event_fields(event)`, delivery lines
`delivery_fields(...)`, so that every line about one job or one email can be found by the
same keys: `select(.job_handle == "...")`, `select(.recipient == "...")`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol, TextIO

from notifier.core.events import Event

REDACTED = "***"
#: Shorter values are not redacted: replacing every "ab" would make the logs unreadable.
MIN_SECRET_LENGTH = 4

_secrets: set[str] = set()
_lock = threading.Lock()
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
_SYSLOG_PRIORITY = {"DEBUG": 7, "INFO": 6, "WARNING": 4, "ERROR": 3, "CRITICAL": 2}


class LogField(StrEnum):
    """The structured fields of event and delivery lines: JSON keys log shippers index."""

    COMPANY = "company"
    JOB_HANDLE = "job_handle"
    JOB_NAME = "job_name"
    EVENT = "event"
    EVENT_ID = "event_id"
    DELIVERY_ID = "delivery_id"
    CHANNEL = "channel"
    RECIPIENT = "recipient"
    MESSAGE_ID = "message_id"
    RESULT = "result"


def event_fields(event: Event) -> dict[str, object]:
    """The `extra=` of a line about one job event."""
    job = event.job
    return {
        LogField.COMPANY.value: job.company_handle,
        LogField.JOB_HANDLE.value: job.job_handle,
        LogField.JOB_NAME.value: job.name,
        LogField.EVENT.value: event.kind.value,
        LogField.EVENT_ID.value: event.id,
    }


def delivery_fields(
    *,
    delivery_id: int,
    channel: str,
    recipient: str,
    result: str,
    message_id: str | None = None,
    event: Event | None = None,
) -> dict[str, object]:
    """The `extra=` of a line about one delivery attempt: which delivery, on which channel
    ("email" or "webhook"), to whom (an address, or `webhook:<name>`), with what result
    ("sent", "retry", "dead", "skipped"), the Message-ID once there is one (email), and the
    event's fields when given.

    For example, once per sent email at INFO:
    `log.info("sent %s to %s", kind, to, extra=delivery_fields(delivery_id=..., ...))`.
    """
    fields: dict[str, object] = event_fields(event) if event is not None else {}
    fields[LogField.DELIVERY_ID.value] = delivery_id
    fields[LogField.CHANNEL.value] = channel
    fields[LogField.RECIPIENT.value] = recipient
    fields[LogField.RESULT.value] = result
    if message_id is not None:
        fields[LogField.MESSAGE_ID.value] = message_id
    return fields


class Revealable(Protocol):
    def reveal(self) -> str: ...


def register_secret(value: str | Revealable) -> None:
    """From now on, `value` never appears in a log line."""
    text = value if isinstance(value, str) else value.reveal()
    if len(text) >= MIN_SECRET_LENGTH:
        with _lock:
            _secrets.add(text)


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    """Renders the message, traceback and extra fields, then redacts registered secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _STANDARD and isinstance(value, str):
                setattr(record, name, redact(value))
        return True


class JournalFormatter(logging.Formatter):
    """No timestamp (journald adds one); a `<N>` syslog prefix so journald keeps the level."""

    def format(self, record: logging.LogRecord) -> str:
        priority = _SYSLOG_PRIORITY.get(record.levelname, 6)
        text = f"<{priority}>{record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_text:
            text += "\n" + record.exc_text
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, extra fields, exc (if any)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and name not in entry:
                entry[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(
    level: str,
    fmt: str = "text",
    *,
    stream: TextIO | None = None,
    environ: Mapping[str, str] = os.environ,
) -> logging.Handler:
    """Send every log record at `level` or above to `stream` (stderr) in `fmt` ("text" or
    "json"). Calling it again replaces the handler it installed before."""
    out = sys.stderr if stream is None else stream
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(_formatter(fmt, out, environ))
    handler.set_name("notifier")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "notifier"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.captureWarnings(True)
    return handler


def _formatter(fmt: str, stream: TextIO, environ: Mapping[str, str]) -> logging.Formatter:
    if fmt == "json":
        return JsonFormatter()
    if fmt != "text":
        raise ValueError(f"unknown log format {fmt!r}: expected text or json")
    if _is_journal(stream, environ):
        return JournalFormatter()
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


def _is_journal(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """True when `stream` is the journald stream systemd connected (JOURNAL_STREAM=dev:ino)."""
    device, _, inode = environ.get("JOURNAL_STREAM", "").partition(":")
    if not device or not inode:
        return False
    try:
        stat = os.fstat(stream.fileno())
    except (OSError, ValueError):
        return True  # not a real file (a test's buffer): trust the variable
    return f"{stat.st_dev}:{stat.st_ino}" == f"{device}:{inode}"
