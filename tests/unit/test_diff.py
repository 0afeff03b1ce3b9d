"""Every transition of the event table, as scenarios of successive polls.

A poll is written as `"A=Running:40 B=New"`: job A is Running at 40 %, job B is New, both of
company 47. `48/C=New` is job C of company 48; `+40m` first advances the clock by 40 minutes
(each poll otherwise comes one minute after the previous one); `fail` is a round whose every
poll failed; `fail:48` a round in which only company 48 failed. Expected events per poll read
`started A`, `progress A 50`, `stalled A 1`, `finished A stopped`, `queued A#2` (second run).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from notifier.core.diff import DiffRules, Snapshot, diff
from notifier.core.events import Event, EventKind, event_id
from notifier.core.jobs import ActiveJob, JobState, JobType
from notifier.core.rules import RulesError
from notifier.core.state import TrackedState

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
COMPANIES = ("47", "48")
DEFAULT_RULES = DiffRules()


def active_job(
    handle: str, state: str, progress: int | None = None, company: str = "47"
) -> ActiveJob:
    return ActiveJob(
        company_handle=company,
        job_handle=f"{company}|{handle}|",
        name=handle,
        original_name=handle,
        type=JobType.IMAGE_SERVING_PUBLISH,
        state=JobState.parse(state),
        submit_user_email="someone@example.com",
        locale="en-US",
        description=None,
        server_name="ips1",
        start_date=T0 - timedelta(hours=1),
        trigger_time=None,
        total_size=None,
        progress=progress,
        progress_message=None,
        last_progress_update=None,
        type_raw="ImageServingPublish",
        state_raw=state,
    )


def parse_poll(spec: str, scopes: tuple[str, ...]) -> tuple[timedelta, Snapshot]:
    step = timedelta(minutes=1)
    listed: dict[str, list[ActiveJob]] = {scope: [] for scope in scopes}
    for token in spec.split():
        if token.startswith("+"):
            step = timedelta(minutes=int(token[1:-1]))
        elif token == "fail":
            listed = {}
        elif token.startswith("fail:"):
            del listed[token[5:]]
        else:
            company, _, rest = token.rpartition("/")
            handle, _, rest = rest.partition("=")
            state, _, progress = rest.partition(":")
            job = active_job(handle, state, int(progress) if progress else None, company or "47")
            listed["" if "" in listed else job.company_handle].append(job)
    return step, Snapshot(scopes=listed)


def describe(event: Event) -> str:
    words = [event.kind.value, event.job.name + (f"#{event.run}" if event.run > 1 else "")]
    if event.kind in (EventKind.PROGRESS, EventKind.STALLED):
        words.append(str(event.detail))
    if event.went_through_stopping:
        words.append("stopped")
    return " ".join(words)


def run_polls(
    polls: list[str], rules: DiffRules = DEFAULT_RULES, scopes: tuple[str, ...] = COMPANIES
) -> list[list[str]]:
    state, now, seen = TrackedState(), T0, []
    for spec in polls:
        step, snapshot = parse_poll(spec, scopes)
        now += step
        state, events = diff(state, snapshot, now, rules)
        seen.append([describe(e) for e in events])
    return seen


SCENARIOS = [
    # name, polls, expected events of each poll
    ("first poll is silent", ["A=New B=Running:60 C=Stopping"], [[]]),
    ("queued when first seen waiting", ["", "A=New"], [[], ["queued A"]]),
    ("queued from WaitingClient", ["", "A=WaitingClient"], [[], ["queued A"]]),
    ("queued from WaitingCoordinator", ["", "A=WaitingCoordinator"], [[], ["queued A"]]),
    ("queued from Unknown", ["", "A=Unknown"], [[], ["queued A"]]),
    ("queued from an unrecognized state", ["", "A=Paused"], [[], ["queued A"]]),
    ("started when first seen running", ["", "A=Running:10"], [[], ["started A"]]),
    ("started on entering Running", ["", "A=New", "A=Running"], [[], ["queued A"], ["started A"]]),
    ("stopping first seen", ["", "A=Stopping"], [[], ["stopping A"]]),
    (
        "stopping then finished carries stopped",
        ["", "A=Running", "A=Stopping", "", ""],
        [[], ["started A"], ["stopping A"], [], ["finished A stopped"]],
    ),
    ("finished when listed Done", ["", "A=Running", "A=Done"], [[], ["started A"], ["finished A"]]),
    ("finished when first seen Done", ["", "A=Done"], [[], ["finished A"]]),
    (
        "Done listed again stays one finished",
        ["", "A=Done", "A=Done", "A=Done"],
        [[], ["finished A"], [], []],
    ),
    (
        "finished after two polls missing",
        ["", "A=Running", "", ""],
        [[], ["started A"], [], ["finished A"]],
    ),
    (
        "back before confirmation is not finished",
        ["", "A=Running", "", "A=Running", "", "A=Running"],
        [[], ["started A"], [], [], [], []],
    ),
    (
        "failed polls do not count as missing",
        ["", "A=Running", "", "fail", "fail", "A=Running"],
        [[], ["started A"], [], [], [], []],
    ),
    (
        "a failed company leaves the other company's jobs alone",
        [
            "",
            "A=Running 48/B=Running",
            "fail:48 A=Running",
            "fail:48 A=Running",
            "A=Done 48/B=Running",
        ],
        [[], ["started A", "started B"], [], [], ["finished A"]],
    ),
    (
        "missing from its own company only",
        ["", "48/B=Running", "fail:48", "fail:48", "48/B=Running"],
        [[], ["started B"], [], [], []],
    ),
    (
        "a failed poll neither counts nor resets the missing polls",
        ["", "A=Running", "", "fail", ""],
        [[], ["started A"], [], [], ["finished A"]],
    ),
    (
        "stopped and then listed Done",
        ["", "A=Running", "A=Stopping", "A=Done"],
        [[], ["started A"], ["stopping A"], ["finished A stopped"]],
    ),
    (
        "a job already Done at the first poll is never announced",
        ["A=Done", "A=Done", "", "", "A=New"],
        [[], [], [], [], ["queued A#2"]],
    ),
    (
        "silently recorded jobs are followed to their finish",
        ["A=Running B=New", "A=Done B=Running", "", ""],
        [[], ["finished A", "started B"], [], ["finished B"]],
    ),
    (
        "progress step crossed",
        ["", "A=Running:10", "A=Running:55"],
        [[], ["started A"], ["progress A 50"]],
    ),
    (
        "progress step reached exactly",
        ["", "A=Running:10", "A=Running:50"],
        [[], ["started A"], ["progress A 50"]],
    ),
    (
        "progress once per step even when it goes back",
        ["", "A=Running:10", "A=Running:60", "A=Running:20", "A=Running:70"],
        [[], ["started A"], ["progress A 50"], [], []],
    ),
    (
        "progress while entering Running",
        ["", "A=New:0", "A=Running:60"],
        [[], ["queued A"], ["started A", "progress A 50"]],
    ),
    ("no progress event when first seen past a step", ["", "A=Running:80"], [[], ["started A"]]),
    (
        "stalled after stall_after",
        ["", "A=Running:10", "+29m A=Running:10", "+1m A=Running:10"],
        [[], ["started A"], [], ["stalled A 1"]],
    ),
    (
        "stalled once per episode",
        ["", "A=Running:10", "+30m A=Running:10", "+30m A=Running:10", "+60m A=Running:10"],
        [[], ["started A"], ["stalled A 1"], [], []],
    ),
    (
        "a new stall episode after progress moves",
        ["", "A=Running:10", "+30m A=Running:10", "A=Running:11", "+30m A=Running:11"],
        [[], ["started A"], ["stalled A 1"], [], ["stalled A 2"]],
    ),
    ("no stall while waiting", ["", "A=New", "+90m A=New"], [[], ["queued A"], []]),
    (
        "the stall clock starts on entering Running",
        ["", "A=New:0", "+90m A=Running:0", "+10m A=Running:0"],
        [[], ["queued A"], ["started A"], []],
    ),
    (
        "a handle back after it finished is a new run",
        ["", "A=Running", "A=Done", "", "", "A=New", "A=Running", "", ""],
        [
            [],
            ["started A"],
            ["finished A"],
            [],
            [],
            ["queued A#2"],
            ["started A#2"],
            [],
            ["finished A#2"],
        ],
    ),
    (
        "a Done job listed again as running is a new run",
        ["", "A=Running", "A=Done", "A=Running"],
        [[], ["started A"], ["finished A"], ["started A#2"]],
    ),
]


@pytest.mark.parametrize(
    ("polls", "expected"), [s[1:] for s in SCENARIOS], ids=[s[0] for s in SCENARIOS]
)
def test_scenario(polls: list[str], expected: list[list[str]]) -> None:
    assert run_polls(polls) == expected


def test_one_confirmation_poll_finishes_at_first_absence() -> None:
    assert run_polls(["", "A=Running", ""], DiffRules(finish_confirm_polls=1)) == [
        [],
        ["started A"],
        ["finished A"],
    ]


def test_only_the_highest_step_crossed_in_one_poll_is_announced() -> None:
    rules = DiffRules(progress_steps=(75, 25, 50))
    assert run_polls(["", "A=Running:0", "A=Running:80", "A=Running:100"], rules) == [
        [],
        ["started A"],
        ["progress A 75"],
        [],
    ]


def test_no_stalls_when_disabled() -> None:
    rules = DiffRules(stall_after=None)
    assert run_polls(["", "A=Running:1", "+600m A=Running:1"], rules) == [[], ["started A"], []]


def test_a_poll_of_every_company_covers_every_job() -> None:
    polls = ["", "A=Running 48/B=New", "48/B=New", "48/B=New"]
    assert run_polls(polls, scopes=("",)) == [[], ["started A", "queued B"], [], ["finished A"]]


def test_a_new_company_in_the_configuration_is_polled_silently_first() -> None:
    rules = DiffRules()
    state, _ = diff(TrackedState(), Snapshot({"47": []}), T0, rules)
    first_48 = Snapshot({"47": [], "48": [active_job("B", "Running", company="48")]})
    state, events = diff(state, first_48, T0 + timedelta(minutes=1), rules)
    assert events == []
    assert ("48", "48|B|") in state.jobs


def test_event_ids_are_deterministic_and_name_the_run_kind_and_detail() -> None:
    rules = DiffRules()
    state, _ = diff(TrackedState(), Snapshot({"47": []}), T0, rules)
    state, events = diff(state, Snapshot({"47": [active_job("A", "Running", 70)]}), T0, rules)
    assert events == []  # the same `now` as an applied poll: a replay
    later = T0 + timedelta(minutes=1)
    _, events = diff(state, Snapshot({"47": [active_job("A", "Running", 70)]}), later, rules)
    assert [e.id for e in events] == [event_id("47", "47|A|", 1, EventKind.STARTED, 0)]


def test_replaying_a_poll_changes_nothing() -> None:
    rules = DiffRules()
    state, _ = diff(TrackedState(), Snapshot({"47": [active_job("A", "Running", 10)]}), T0, rules)
    later = T0 + timedelta(minutes=1)
    snapshot = Snapshot({"47": [active_job("A", "Stopping", 60)]})
    once, events = diff(state, snapshot, later, rules)
    twice, again = diff(once, snapshot, later, rules)
    assert [e.kind for e in events] == [EventKind.STOPPING, EventKind.PROGRESS]
    assert (twice, again) == (once, [])


def test_a_failed_round_returns_the_state_untouched() -> None:
    rules = DiffRules()
    state, _ = diff(TrackedState(), Snapshot({"47": [active_job("A", "Running")]}), T0, rules)
    assert diff(state, Snapshot({}), T0 + timedelta(hours=5), rules) == (state, [])


def test_unchanged_jobs_keep_their_tracked_object() -> None:
    rules = DiffRules()
    jobs = [active_job(str(i), "Running", 10) for i in range(3)]
    state, _ = diff(TrackedState(), Snapshot({"47": jobs}), T0, rules)
    moved = [*jobs[:2], replace(jobs[2], progress=20)]
    after, _ = diff(state, Snapshot({"47": moved}), T0 + timedelta(minutes=1), rules)
    same = [k for k in after.jobs if after.jobs[k] is state.jobs[k]]
    assert same == [("47", "47|0|"), ("47", "47|1|")]


@pytest.mark.parametrize(
    "kwargs",
    [{"finish_confirm_polls": 0}, {"stall_after": timedelta(0)}, {"progress_steps": (0,)}],
)
def test_impossible_rules_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(RulesError):
        DiffRules(**kwargs)  # type: ignore[arg-type]
