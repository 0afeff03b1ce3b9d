"""Log lines as journald, a terminal or a log shipper sees them, never with a password."""

from __future__ import annotations

import io
import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from notifier.config import load_config
from notifier.logs import register_secret, setup_logging


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(False)


def test_text_on_a_terminal_has_timestamp_level_and_logger() -> None:
    out = io.StringIO()
    setup_logging("info", "text", stream=out, environ={})
    logging.getLogger("notifier.daemon").info("polled %d jobs", 3)
    logging.getLogger("notifier.daemon").debug("not shown at info")
    line = out.getvalue()
    assert line.endswith(" INFO notifier.daemon: polled 3 jobs\n")
    assert line[:4].isdigit()  # the year of the timestamp
    assert "not shown" not in line


def test_text_under_journald_has_priority_prefix_and_no_timestamp() -> None:
    out = io.StringIO()
    setup_logging("debug", "text", stream=out, environ={"JOURNAL_STREAM": "8:12345"})
    logging.getLogger("notifier.mail").warning("SMTP answered 451")
    logging.getLogger("notifier.mail").debug("detail")
    assert out.getvalue() == (
        "<4>WARNING notifier.mail: SMTP answered 451\n<7>DEBUG notifier.mail: detail\n"
    )


def test_journal_stream_of_another_file_keeps_timestamps(tmp_path: Path) -> None:
    with (tmp_path / "log").open("w") as out:
        setup_logging("info", "text", stream=out, environ={"JOURNAL_STREAM": "1:1"})
        logging.getLogger("x").info("hello")
    assert not (tmp_path / "log").read_text().startswith("<")


def test_json_is_one_object_per_line_with_extra_fields() -> None:
    out = io.StringIO()
    setup_logging("info", "json", stream=out, environ={})
    log = logging.getLogger("notifier.poll")
    log.info("poll done", extra={"jobs": 4, "company": "c|47"})
    try:
        raise ValueError("bad body")
    except ValueError:
        log.exception("poll failed")
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["level"] == "info"
    assert first["logger"] == "notifier.poll"
    assert first["message"] == "poll done"
    assert (first["jobs"], first["company"]) == (4, "c|47")
    assert first["ts"].endswith("+00:00")
    assert second["level"] == "error"
    assert "ValueError: bad body" in second["exc"]


def test_registered_secrets_are_redacted_everywhere() -> None:
    out = io.StringIO()
    setup_logging("info", "json", stream=out, environ={})
    register_secret("Sw0rdfish-9")
    log = logging.getLogger("notifier.ips")
    log.info("login with %s failed", "Sw0rdfish-9", extra={"password": "Sw0rdfish-9"})
    try:
        raise RuntimeError("server said: bad password Sw0rdfish-9")
    except RuntimeError:
        log.exception("with traceback")
    assert "Sw0rdfish-9" not in out.getvalue()
    first = json.loads(out.getvalue().splitlines()[0])
    assert first["message"] == "login with *** failed"
    assert first["password"] == "***"


def test_secrets_of_a_loaded_config_are_redacted_in_text_logs(tmp_path: Path) -> None:
    path = tmp_path / "n.toml"
    path.write_text(
        '[ips]\nurl = "https://ips.example.com/x"\nuser = "u"\npassword = "Tr0ub4dor&3"\n'
        '[smtp]\nfrom = "a@example.com"\n',
        encoding="utf-8",
    )
    load_config(path, {})
    out = io.StringIO()
    setup_logging("info", "text", stream=out, environ={})
    logging.getLogger("notifier").error("IPS said Tr0ub4dor&3 is wrong")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("leaky Tr0ub4dor&3", UserWarning, stacklevel=1)
    assert "Tr0ub4dor&3" not in out.getvalue()
    assert "IPS said *** is wrong" in out.getvalue()
    assert "leaky ***" in out.getvalue()


def test_calling_setup_again_replaces_the_handler() -> None:
    first, second = io.StringIO(), io.StringIO()
    setup_logging("info", "text", stream=first, environ={})
    setup_logging("info", "text", stream=second, environ={})
    logging.getLogger("n").info("once")
    assert first.getvalue() == ""
    assert second.getvalue().count("once") == 1


def test_delivery_lines_carry_the_delivery_and_event_fields_in_json() -> None:
    from notifier.core.events import EventKind
    from notifier.logs import delivery_fields
    from notifier.mail.preview import sample_event

    out = io.StringIO()
    setup_logging("info", "json", stream=out, environ={})
    event = sample_event(EventKind.FINISHED, "de-DE")
    fields = delivery_fields(
        delivery_id=17,
        channel="email",
        recipient="maria.rossi@example.com",
        result="sent",
        message_id="<abc@ips-job-notifier>",
        event=event,
    )
    logging.getLogger("notifier.mail").info("sent finished to maria", extra=fields)
    line = json.loads(out.getvalue())
    assert line["message"] == "sent finished to maria"
    assert line["delivery_id"] == 17
    assert line["channel"] == "email"
    assert line["recipient"] == "maria.rossi@example.com"
    assert line["result"] == "sent"
    assert line["message_id"] == "<abc@ips-job-notifier>"
    assert line["company"] == "47"
    assert line["job_handle"] == event.job.job_handle
    assert line["event"] == "finished"
    assert line["event_id"] == event.id


def test_a_delivery_line_without_message_id_or_event_has_only_what_is_known() -> None:
    from notifier.logs import delivery_fields

    fields = delivery_fields(delivery_id=3, channel="email", recipient="a@b.example", result="dead")
    assert fields == {
        "delivery_id": 3,
        "channel": "email",
        "recipient": "a@b.example",
        "result": "dead",
    }
