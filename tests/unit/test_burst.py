"""A burst for one recipient, through the hold rule and the digest email together: 40 jobs
that start and finish at once reach them in `after` + 1 emails, the digest listing all 40."""

from __future__ import annotations

from datetime import datetime, timedelta

from notifier.core.digest import DigestSettings, decide, due
from notifier.core.events import EventKind, Outcome
from notifier.delivery.channel import Item
from notifier.mail.digest import build_digest
from tests.held_items import T0, held

RULES = DigestSettings(after=5, window=timedelta(minutes=10))


def test_forty_jobs_starting_and_finishing_together_make_after_plus_one_emails() -> None:
    started = [held(f"Job {n:02d}", EventKind.STARTED, None, minute=0) for n in range(40)]
    outcomes = [Outcome.FAILED if n % 10 == 3 else Outcome.SUCCEEDED for n in range(40)]
    finished = [held(f"Job {n:02d}", outcome=outcomes[n], minute=1) for n in range(40)]
    sent: list[datetime] = []
    singles: list[Item] = []
    held_back: list[Item] = []
    held_until: datetime | None = None
    for item in [*started, *finished]:
        decision = decide(sent, item.event.at, RULES, held_until)
        if decision.send_now:
            sent.append(item.event.at)
            singles.append(item)
        else:
            held_back.append(item)
            held_until = decision.hold_until
    assert held_until == T0 + RULES.window and due(held_until, T0 + RULES.window)
    digest = build_digest(
        held_back, digest_id="burst", sender="ips@example.com", to="ana@x.example", date=held_until
    ).parsed()
    assert len(singles) == 5 and all(i.event.kind is EventKind.STARTED for i in singles)
    assert digest["X-IPS-Digest-Count"] == "40"
    assert digest["Subject"] == "40 IPS jobs finished: 4 failed, 36 succeeded"
    text = digest.get_body(("plain",))
    assert text is not None
    assert all(f"Job {n:02d}" in text.get_content() for n in range(40))
