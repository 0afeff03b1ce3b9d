"""The seeded scenario engine: drives simulated jobs through their whole lives, tick by tick.

New -> WaitingClient/WaitingCoordinator -> Running (progress rising, sometimes stalling) ->
Stopping or Done -> gone, with a job log. Owns the randomness (one seeded `random.Random`);
never reads the clock itself nor does I/O, so one seed and one sequence of ticks give one story.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from notifier.core.jobs import ActiveJob, JobState, JobType
from notifier.sim.state import JobKey, Outcome, SimState

LOCALES: tuple[str | None, ...] = (
    "en-US", "de-DE", "fr-FR", "ja-JP", "pt-BR", "zh-CN", "zh-TW", "es-MX", "it", "ko-KR",
    "nl-NL", "sv-SE", "en-US", "de-DE", "fr-FR", "ja-JP",
    None, "", "english", "../../../etc/passwd", "de_DE.UTF-8",
)  # fmt: skip
_NAMES = (
    "Spring catalogue", "Frühjahrskatalog", "Catalogue été", "春のカタログ", "Coleção verão",
    "产品图片", "產品圖片", "Catálogo otoño", "Saldi invernali", "신제품 이미지",
    "Nieuwe collectie", "Höstkollektion", "Banner <Sale> & \"Promo\"",
)  # fmt: skip
_USERS = ("marie", "jonas", "yuki", "ana", "li", "mateo", "giulia", "minjun", "sanne", "erik")
_OUTCOMES = (
    (Outcome.SUCCEEDED, 55), (Outcome.WARNINGS, 20), (Outcome.FAILED, 12),
    (Outcome.FATAL, 5), (Outcome.STOPPED, 8),
)  # fmt: skip
_TYPES = tuple(t for t in JobType if t is not JobType.UNRECOGNIZED)


@dataclass(frozen=True, slots=True)
class Pacing:
    """How fast the story goes: `tick` seconds per step, phase lengths in ticks."""

    tick: float = 1.0
    jobs: int = 10  # active jobs the engine keeps going (0: only scripted jobs)
    wait_ticks: tuple[int, int] = (1, 3)
    run_ticks: tuple[int, int] = (4, 12)
    stall_chance: float = 0.15
    stall_ticks: tuple[int, int] = (3, 6)


@dataclass(slots=True)
class Plan:
    """What the engine has decided for one job it drives."""

    waiting: JobState
    wait_ticks: int
    run_ticks: int
    outcome: Outcome
    stall_at: int  # running tick at which progress freezes; -1 for never
    stall_ticks: int
    ticks: int = 0  # ticks spent in the current phase


@dataclass(slots=True)
class ScenarioEngine:
    state: SimState
    pacing: Pacing
    seed: int = 0
    paused: bool = False
    plans: dict[JobKey, Plan] = field(default_factory=dict)
    rng: random.Random = field(init=False)
    spawned: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)  # a story, not a secret

    def step(self) -> None:
        """One tick: every driven job moves on, then new jobs keep the count up."""
        for key in list(self.plans):
            if key not in self.state.jobs:  # finished or removed from outside
                del self.plans[key]
                continue
            self._advance(key, self.plans[key])
        driven = len(self.plans)
        for _ in range(self.pacing.jobs - driven):
            self._spawn()

    def _spawn(self) -> None:
        rng = self.rng
        self.spawned += 1
        company = rng.choice(self.state.companies)
        locale = rng.choice(LOCALES)
        name = f"{rng.choice(_NAMES)} #{self.spawned}"
        job_type = rng.choice(_TYPES)
        job = self.state.new_job(
            company_handle=company,
            name=name,
            type=job_type.value,
            state="New",
            submit_user_email=f"{rng.choice(_USERS)}.{company}@example.com",
            locale=locale,
            description=rng.choice((None, f"Scheduled {job_type.value.lower()}")),
            total_size=rng.randrange(1, 5000) * 1_000_000,
            progress_message="Queued",
        )
        self.state.add_job(job)
        stalls = rng.random() < self.pacing.stall_chance
        run_ticks = rng.randint(*self.pacing.run_ticks)
        self.plans[(job.company_handle, job.job_handle)] = Plan(
            waiting=rng.choice((JobState.WAITING_CLIENT, JobState.WAITING_COORDINATOR)),
            wait_ticks=rng.randint(*self.pacing.wait_ticks),
            run_ticks=run_ticks,
            outcome=rng.choices([o for o, _ in _OUTCOMES], [w for _, w in _OUTCOMES])[0],
            stall_at=rng.randrange(1, run_ticks) if stalls and run_ticks > 1 else -1,
            stall_ticks=rng.randint(*self.pacing.stall_ticks),
        )

    def _advance(self, key: JobKey, plan: Plan) -> None:
        job = self.state.jobs[key].job
        plan.ticks += 1
        state = job.state
        if state is JobState.NEW:
            self._move(key, plan, state=plan.waiting, progress_message="Waiting")
        elif state in (JobState.WAITING_CLIENT, JobState.WAITING_COORDINATOR):
            if plan.ticks >= plan.wait_ticks:
                self._move(key, plan, state=JobState.RUNNING, progress_message="Starting")
        elif state is JobState.RUNNING:
            self._run(key, plan, job)
        else:  # Stopping or Done: the job log is written and the job drops out
            del self.plans[key]
            self.state.finish_job(*key, plan.outcome, files=max(1, (job.total_size or 0) // 10**8))

    def _run(self, key: JobKey, plan: Plan, job: ActiveJob) -> None:
        stalled = plan.stall_at >= 0 and plan.stall_at <= plan.ticks < plan.stall_at + (
            plan.stall_ticks
        )
        done_ticks = plan.ticks - (plan.stall_ticks if plan.ticks >= plan.stall_at >= 0 else 0)
        if stalled:
            return  # progress and lastProgressUpdate frozen
        if plan.outcome is Outcome.STOPPED and done_ticks >= plan.run_ticks // 2:
            self._move(key, plan, state=JobState.STOPPING, progress_message="Stopping")
        elif done_ticks >= plan.run_ticks:
            self._move(key, plan, state=JobState.DONE, progress=100, progress_message="Done")
        else:
            progress = min(99, 100 * done_ticks // plan.run_ticks)
            self.state.update_job(
                *key,
                progress=progress,
                progress_message=f"Processing {progress}%",
                last_progress_update=self.state.clock(),
            )

    def _move(self, key: JobKey, plan: Plan, **changes: Any) -> None:
        plan.ticks = 0
        self.state.update_job(*key, last_progress_update=self.state.clock(), **changes)
