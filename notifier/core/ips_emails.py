"""Which finished outcomes IPS mails the submitter itself, from the job's `emailSetting`.

Owns the meaning of emailSetting for the `notify.ips_emails` choice: in "complement", the
notifier skips the submitter's `finished` email where IPS already sends one. Pure: no I/O,
no configuration reading (the config layer parses the key into IpsEmails), no routing (the
routing rules decide what to do with the answer).
"""

from __future__ import annotations

from enum import StrEnum

from notifier.core.events import Outcome
from notifier.core.jobs import ActiveJob, EmailSetting

__all__ = ["IpsEmails", "ips_mails_itself", "ips_mails_outcome"]


class IpsEmails(StrEnum):
    """`notify.ips_emails`: what to do about the emails IPS sends itself."""

    IGNORE = "ignore"  # send every email as configured, whatever IPS sends (the default)
    COMPLEMENT = "complement"  # skip the submitter's finished email where IPS mails it


_EVERY = frozenset(Outcome)
_MAILED: dict[EmailSetting, frozenset[Outcome]] = {
    EmailSetting.ALL: _EVERY,
    EmailSetting.JOB_COMPLETION: _EVERY,
    EmailSetting.ERROR: frozenset({Outcome.FAILED}),
    EmailSetting.ERROR_AND_WARNING: frozenset({Outcome.FAILED, Outcome.WARNINGS}),
    EmailSetting.NONE: frozenset(),
}


def ips_mails_outcome(setting: EmailSetting | None, outcome: Outcome) -> bool:
    """Whether IPS itself mails the submitter a job with this setting that ended so.

    A missing or unrecognized setting is taken as "IPS sends nothing", so the notifier's
    email is never lost to a guess.
    """
    if setting is None:
        return False
    return outcome in _MAILED.get(setting, frozenset())


def ips_mails_itself(job: ActiveJob, outcome: Outcome) -> EmailSetting | None:
    """The job's emailSetting if IPS mails this outcome itself (to name in a skip reason),
    else None."""
    setting = job.detail.email_setting if job.detail is not None else None
    return setting if ips_mails_outcome(setting, outcome) else None
