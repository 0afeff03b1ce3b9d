"""notify.ips_emails = "complement" through the real `notifier` process: IPS is scripted to
mail failures itself (emailSetting Error), so the submitter's email about the failed job is
skipped with the reason in `notifier outbox list`, the one about the job that succeeded is
mailed, and a team route still hears of the failure."""

from __future__ import annotations

from notifier.core.jobs import EmailSetting, JobDetail, JobDetailKind
from notifier.sim import Outcome
from tests.e2e.conftest import COMPANY, Notifier, World

FAILURES_TO_TEAM = """
[[route]]
events = ["finished"]
outcomes = ["failed"]
to = ["dam-team@example.com"]
"""
MAILS_ERRORS = JobDetail(JobDetailKind.IMAGE_SERVING_PUBLISH, EmailSetting.ERROR)


async def test_complement_skips_what_ips_mails_itself_and_mails_the_rest(
    world: World, notifier: Notifier
) -> None:
    config = world.config(
        notify={"events": ["finished"], "ips_emails": "complement"}, tables=FAILURES_TO_TEAM
    )
    daemon = await notifier.start(config)
    await daemon.wait_for_log("notifier running")
    await world.polls_pass(2)
    broken = world.add_job("Broken batch", email="ana@example.com", detail=MAILS_ERRORS)
    fine = world.add_job("Fine batch", email="ana@example.com", detail=MAILS_ERRORS)
    await world.polls_pass(2)
    world.sim.finish_job(COMPANY, broken.job_handle, Outcome.FAILED)
    world.sim.finish_job(COMPANY, fine.job_handle, Outcome.SUCCEEDED)
    await world.wait_for_mails(2)
    await world.polls_pass(5)
    assert await daemon.stop() == 0

    sent = sorted((m.rcpt_tos[0], str(m.message["Subject"])) for m in world.sink.messages)
    assert len(sent) == 2, sent
    (ana, ana_subject), (team, team_subject) = sent
    assert (ana, team) == ("ana@example.com", "dam-team@example.com")
    assert "Fine batch" in ana_subject, "IPS does not mail successes: the notifier does"
    assert "Broken batch" in team_subject, "routes are not affected"

    listing = await notifier.run("outbox", "list", "-c", str(config))
    assert listing.returncode == 0, listing.output
    lines = listing.stdout.splitlines()
    skipped = [line for line in lines if " skipped " in line and " finished " in line]
    assert len(skipped) == 2, listing.stdout
    ana_line = next(line for line in skipped if "ana@example.com" in line)
    assert "Broken batch" in ana_line
    assert ana_line.endswith("IPS mails this outcome itself (emailSetting Error)")
    team_line = next(line for line in skipped if "dam-team@example.com" in line)
    assert "Fine batch" in team_line
    assert team_line.endswith("outcome not in the route's outcomes")
