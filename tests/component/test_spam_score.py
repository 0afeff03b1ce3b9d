"""Every gallery email (digests included) as a spam filter sees it: SpamAssassin's local rules
score it at most 1.0.

SpamAssassin (Debian's `spamassassin` package; `.ci/run` installs it) runs its local tests
only (`-t -L`: no DNS or network lookups), once over an mbox of all the emails, each
received through a relay just now as a mail server would hand it on.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest

from notifier.mail.gallery import (
    GalleryEmail,
    gallery,
)

LIMIT = 1.0
SPAMASSASSIN = shutil.which("spamassassin")
pytestmark = pytest.mark.skipif(
    SPAMASSASSIN is None,
    reason="spamassassin is not installed (Debian: apt-get install -y spamassassin; .ci/run "
    "does this), so the spam scores of the emails cannot be measured here",
)
_STATUS = re.compile(
    rb"^X-Spam-Status: \w+, score=(-?[\d.]+) required=[\d.]+ tests=(.*?)(?=\n\S)",
    re.MULTILINE | re.DOTALL,
)


def _mbox(emails: list[GalleryEmail], now: datetime) -> bytes:
    received = (
        "Received: from relay.example.com (relay.example.com [52.94.236.248])\n"
        f"\tby mx.example.com with ESMTPS; {format_datetime(now)}\n"
    ).encode()
    out = []
    for item in emails:
        body = item.message.as_bytes().replace(b"\r\n", b"\n")
        body = re.sub(rb"^(>*From )", rb">\1", body, flags=re.MULTILINE)
        out.append(
            b"From ips-jobs@example.com Mon Dec  1 09:00:00 2026\n" + received + body + b"\n"
        )
    return b"".join(out)


def _scores(emails: list[GalleryEmail], now: datetime, tmp_path: Path) -> list[str]:
    """The emails that SpamAssassin scores above `LIMIT`, with the rules that fired."""
    assert SPAMASSASSIN is not None
    result = subprocess.run(
        [SPAMASSASSIN, "-t", "-L", "--mbox", "-p", str(tmp_path / "user_prefs")],
        input=_mbox(emails, now),
        capture_output=True,
        timeout=600,
        check=True,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    scores = _STATUS.findall(result.stdout)
    assert len(scores) == len(emails), result.stderr.decode(errors="replace")[-2000:]
    return [
        f"{item.catalog}/{item.status}: {float(score)} ({b' '.join(tests.split()).decode()})"
        for item, (score, tests) in zip(emails, scores, strict=True)
        if float(score) > LIMIT
    ]


def test_every_gallery_email_scores_at_most_one_point(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    too_high = _scores(gallery(now), now, tmp_path)
    assert too_high == [], "spam scores above 1.0: " + "; ".join(too_high)
