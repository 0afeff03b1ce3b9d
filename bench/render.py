"""Benchmark: emails rendered per second across the 12 shipped locales, against plain Jinja2.

Measures, in one run, on the same sample events (started, progress, stalled and finished
succeeded / warnings / failed, each in a locale negotiated to every shipped catalog):
  ours   notifier.mail.render.render_bodies: catalogs, babel formatting, subject, text, HTML
  mime   notifier.mail.message.build_message: the above plus headers and the MIME parts
  plain  the same templates in a plain Environment with identity gettext/ngettext, loaded
         once, fed a context whose every value was formatted beforehand (no babel, no catalog)
and prints ours / plain (target >= 0.5) and mime / plain. `run()` returns the figures.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from gettext import NullTranslations
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template
from markupsafe import Markup

import notifier
from notifier.core.events import Completion, Event, EventKind, Outcome
from notifier.mail import render as product
from notifier.mail.facts import table_of_facts
from notifier.mail.formatting import Formatter
from notifier.mail.i18n import CATALOGS, negotiate_locale
from notifier.mail.message import build_message
from notifier.mail.plain_text import bullets, paragraph
from notifier.mail.preview import sample_completion, sample_event

TEMPLATES = Path(notifier.__file__).parent / "templates"
# One job locale per shipped catalog, as IPS would send it.
LOCALES = (
    "en-US", "de-DE", "es-MX", "fr-FR", "it-IT", "ja-JP",
    "ko-KR", "nl-NL", "pt-BR", "sv-SE", "zh-CN", "zh-TW",
)  # fmt: skip
SAMPLES: tuple[tuple[EventKind, Outcome | None], ...] = (
    (EventKind.STARTED, None),
    (EventKind.PROGRESS, None),
    (EventKind.STALLED, None),
    (EventKind.FINISHED, Outcome.SUCCEEDED),
    (EventKind.FINISHED, Outcome.WARNINGS),
    (EventKind.FINISHED, Outcome.FAILED),
)


@dataclass(frozen=True, slots=True)
class Sample:
    event: Event
    completion: Completion | None


def samples() -> list[Sample]:
    return [
        Sample(
            sample_event(kind, locale),
            sample_completion(outcome) if outcome is not None else None,
        )
        for locale in LOCALES
        for kind, outcome in SAMPLES
    ]


def _plain_environment(*, html: bool) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=html,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # as the product's: templates loaded once
    )
    env.policies["ext.i18n.trimmed"] = True
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    env.filters["paragraph"] = paragraph
    env.filters["bullets"] = bullets
    return env


@dataclass(frozen=True, slots=True)
class PlainJob:
    """What the plain renderer needs for one email, every value already a string."""

    text: Template
    html: Template
    context: dict[str, object]
    name: str


def plain_jobs(items: list[Sample]) -> list[PlainJob]:
    """Templates loaded and contexts formatted once, before the clock starts."""
    text_env, html_env = _plain_environment(html=False), _plain_environment(html=True)
    fmt = Formatter.for_catalog("en", "UTC")
    jobs = []
    for item in items:
        status = product.status_of(item.event, item.completion)
        facts = table_of_facts(item.event, item.completion, fmt, NullTranslations())  # type: ignore[arg-type]
        context = product._context(item.event, item.completion, status, fmt)
        percent = fmt.percent(item.event.detail or item.event.job.progress or 0)
        name = item.event.job.name or ""
        subject = product.SUBJECTS[status] % {"name": name, "percent": percent}
        context.update(
            product.layout_context("en", fmt, facts, product.NO_LINKS),
            subject=subject,
            percent=percent,
        )
        template = f"{item.event.kind.value}.j2"
        jobs.append(
            PlainJob(
                text_env.get_template(template), html_env.get_template(template), context, name
            )
        )
    return jobs


def render_plain(job: PlainJob) -> tuple[str, str]:
    name_html = Markup('<span dir="auto" style="font-weight:600;">%s</span>') % job.name
    text = job.text.render(job.context, layout="layout.txt", name=job.name)
    html = job.html.render(job.context, layout="layout.html", name=name_html)
    return text, html


def rate(items: list[Any], work: Callable[[Any], object], seconds: float) -> float:
    """Items per second: whole passes over `items` for at least `seconds` (best of 3)."""
    best = 0.0
    for _ in range(3):
        gc.collect()
        done, started = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds / 3 or not done:
            for item in items:
                work(item)
            done += len(items)
        best = max(best, done / elapsed)
    return best


def run(seconds: float = 6.0) -> dict[str, Any]:
    items = samples()
    plain = plain_jobs(items)
    for item in items:  # warm every catalog, template and babel locale first
        build_message(item.event, item.completion, sender="a@example.com")
    plain_rate = rate(plain, render_plain, seconds)
    ours_rate = rate(items, lambda s: product.render_bodies(s.event, s.completion), seconds)
    mime_rate = rate(
        items, lambda s: build_message(s.event, s.completion, sender="a@example.com"), seconds
    )
    return {
        "catalogs": len({negotiate_locale(loc) for loc in LOCALES}),
        "samples": len(items),
        "plain_per_s": round(plain_rate),
        "ours_per_s": round(ours_rate),
        "mime_per_s": round(mime_rate),
        "ours_over_plain": ours_rate / plain_rate,
        "mime_over_plain": mime_rate / plain_rate,
        "target_ours_over_plain": 0.5,
    }


def main() -> int:
    r = run()
    assert r["catalogs"] == len(CATALOGS)
    print(f"render: {r['samples']} sample emails over {r['catalogs']} catalogs")
    print(f"  plain Jinja2, preformatted   {r['plain_per_s']:7,} emails/s")
    print(f"  render_bodies                {r['ours_per_s']:7,} emails/s")
    print(f"  build_message (with MIME)    {r['mime_per_s']:7,} emails/s")
    print(f"  render_bodies / plain = {r['ours_over_plain']:.2f}   (target >= 0.5)")
    print(f"  build_message / plain = {r['mime_over_plain']:.2f}")
    return 0 if r["ours_over_plain"] >= 0.5 else 1


if __name__ == "__main__":
    sys.exit(main())
