"""Which finished emails IPS sends itself, by emailSetting and outcome."""

import pytest

from notifier.core.events import Outcome
from notifier.core.ips_emails import IpsEmails, ips_mails_itself, ips_mails_outcome
from notifier.core.jobs import EmailSetting, JobDetail, JobDetailKind
from tests import soap_bodies as sb

MAILED = {
    EmailSetting.ALL: set(Outcome),
    EmailSetting.JOB_COMPLETION: set(Outcome),
    EmailSetting.ERROR: {Outcome.FAILED},
    EmailSetting.ERROR_AND_WARNING: {Outcome.FAILED, Outcome.WARNINGS},
    EmailSetting.NONE: set(),
    EmailSetting.UNRECOGNIZED: set(),
}


@pytest.mark.parametrize("setting", list(EmailSetting))
@pytest.mark.parametrize("outcome", list(Outcome))
def test_ips_mails_the_outcomes_its_setting_names(setting: EmailSetting, outcome: Outcome) -> None:
    assert ips_mails_outcome(setting, outcome) is (outcome in MAILED[setting])


def test_a_job_without_a_setting_is_never_taken_as_mailed_by_ips() -> None:
    assert not any(ips_mails_outcome(None, outcome) for outcome in Outcome)
    assert ips_mails_itself(sb.active_job(detail=None), Outcome.FAILED) is None
    no_email = sb.active_job(detail=JobDetail(JobDetailKind.METADATA_PUBLISH))
    assert ips_mails_itself(no_email, Outcome.SUCCEEDED) is None


def test_the_setting_is_returned_to_name_in_the_skip_reason() -> None:
    job = sb.active_job(detail=JobDetail(JobDetailKind.EXPORT, EmailSetting.ERROR))
    assert ips_mails_itself(job, Outcome.FAILED) is EmailSetting.ERROR
    assert ips_mails_itself(job, Outcome.SUCCEEDED) is None


def test_the_config_values_are_ignore_and_complement() -> None:
    assert [m.value for m in IpsEmails] == ["ignore", "complement"]
