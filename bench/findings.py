"""The prose of docs/BENCHMARKS.md: what the benchmarks measure, how to rerun them, and the
profiled cause and suggested fix of each goal the product missed.

Owns words only. The causes were found with pyinstrument and cProfile on the machine named in
the generated page; re-profile before trusting them after the product changes.
"""

from __future__ import annotations

INTRO = """
Every figure is measured side by side with its peer in the same run, because the machine is
shared and noisy: a ratio survives noise that an absolute time does not. Where a goal is
absolute (latency, memory, CPU) the figure is given as measured. This page is written by
`bench/run.py`; edit `bench/findings.py` and `bench/report.py`, not this file.

What each benchmark does (details in each module's docstring):

- **parse** (`bench/parse.py`): a 10,000-job getActiveJobs answer written by the simulator's
  serialiser, parsed by `notifier.ips.parse_active_jobs`, by zeep (a WSDL of the same types)
  and by bare `lxml.etree.fromstring`; best of several rounds each.
- **diff** (`bench/diff.py`): diff and commit of a 10,000-job snapshot with 1 % changed, against
  a store that rewrites every row (CPU time, median of 7 rounds).
- **burst** (`bench/burst.py`): 2,000 Running jobs, already seen by the daemon (in-process,
  poll every 0.2 s, `finish_confirm_polls = 1`, job logs written), finish at once; time from
  the poll that first saw them gone to the last email accepted by an aiosmtpd sink running in
  its own process. Peer: raw aiosmtplib sending 2,000 prebuilt emails of the same kind over
  `smtp.max_connections` (4) connections to the same sink (the faster of a run before and a
  run after the daemon's).
- **latency** (`bench/latency.py`): 200 jobs (half start, half finish with a job log) change at
  random moments over 20 s; poll every 0.5 s. Each latency runs from the moment the simulator
  began answering the first poll that included the change (the wait for that poll is left
  out) to the sink's acceptance of the email.
- **render** (`bench/render.py`): 72 sample emails (started, progress, stalled, finished
  succeeded/warnings/failed in each of the 12 catalogs) through `render_bodies`, and through
  `build_message` (which adds headers and MIME), against the same templates in a plain Jinja2
  Environment with identity gettext/ngettext, loaded once, with every value preformatted.
- **scale** (`bench/scale.py`): one poll (parse + diff + commit to a SqliteStore in a temporary
  directory, wall time) at 1,000, 10,000 and 50,000 jobs: the first poll (every job new) and
  the median of three later polls with about 1 % of the jobs changed.
- **footprint** (`bench/footprint.py`): the real `python -m notifier run -c FILE` against the
  simulator (100 Running jobs that do not change), poll every 30 s, watched for 3 minutes after
  its first poll: VmRSS (largest sample) from /proc/PID/status, utime + stime from
  /proc/PID/stat over wall time.
"""

RERUN = """
    make bench                                   # everything, then this page (about 8 min)
    .venv/bin/python bench/run.py --only burst latency   # some of them (still rewrites this page)
    .venv/bin/python bench/run.py --footprint-seconds 60  # a shorter footprint watch
    .venv/bin/python -m bench.parse              # one benchmark, printed, page untouched
    .venv/bin/python -m bench.diff
    .venv/bin/python -m bench.burst
    .venv/bin/python -m bench.latency
    .venv/bin/python -m bench.render
    .venv/bin/python -m bench.scale
    .venv/bin/python -m bench.footprint 180      # seconds to watch

Run them from the checkout, on a machine as quiet as you can get: the load average at the start
is printed above because other work on the machine shows up in the absolute figures.
`tests/unit/test_bench.py` runs each module at a toy size so that they cannot rot.
"""

_PER_EMAIL_CPU = """
The daemon builds each email in the event loop. Measured per email on this machine (timeit
over the 72 render samples, no profiler): `render_bodies` about 0.9 ms, `assemble` (headers
and MIME parts, `notifier/mail/message.py`) about 2.8 ms, and then aiosmtplib flattens the
EmailMessage again in `send_message` (`as_bytes`, about 1.1 ms). The raw peer pays only the
last of these. Within `assemble`:

- `_transfer_encoding` (`notifier/mail/message.py`) counts non-ASCII characters with a Python
  generator over every character of both bodies: about 0.64 ms per email for ~11 kB of text.
  Fix: `if body.isascii(): return "quoted-printable"`, else count with C-speed operations
  (`len(body.encode("utf-32-le")) // 4 - len(body.encode("ascii", "ignore"))`): 0.02 ms, same
  decisions on every sample.
- `EmailMessage(policy=SMTP)` parses every header it is given through `email.headerregistry`
  (13 headers on the message plus Content-* on each part; `HeaderRegistry.__getitem__` even
  creates a new class with `type()` on every lookup) and `set_content`/`add_alternative`
  re-parse Content-Type: about 2 ms per email. Fix: build the message once as bytes (headers
  are already known to be safe: `header_text`, `_address`), e.g. `email.mime` parts with
  `policy=compat32` or a small writer of the header block, and hand the bytes to
  `aiosmtplib.SMTP.sendmail(sender, [recipient], data)` in `notifier/mail/sender.py`, which
  also removes the second flattening in `send_message`.
"""

FINDINGS: dict[str, str] = {
    "parse": """
Fixed (best of 5 on the 10,000-job answer, bench unchanged): `parse_active_jobs` went from
about 241 ms to about 212 ms, ours/lxml from 3.8-3.9x to 3.2-3.4x. The walk in `_items` no
longer translates each of the 180,000 child tags to a local name (a dict lookup on a freshly
made string per element): it keys each item's dict by full tag, and the reader looks fields
up by full tag in the namespace of the first item; an item with a child in another IPS
namespace, or in none, is re-read by local name, so every document reads as before. ActiveJobs
are made by `new_active_job` (`notifier/ips/models.py`), a slotted twin re-classed as
ActiveJob: 10,000 of them in 9 ms instead of 32 ms through the frozen `__init__`. Repeated
dateTime texts are parsed once per response.

Still missed, and why. Where the 212 ms go: the tree 55 ms and its free 8 ms (bare lxml does
the same, 63 ms); lxml's proxy object for every child element 24 ms, its "{namespace}name" tag
string 22 ms, the texts 4 ms, one dict per item 18 ms; the 10,000 ActiveJobs about 25 ms; and
about 29 ms in glibc consolidating the freed tree's small chunks, which happens when the
returned list (80 KB) is freed inside the timed call. The bare peer's best run never pays
that: measured on this machine, bare `fromstring` takes 63 ms right after any free of 64 KB
or more (our parse's list, or a bytearray) and 90 ms right after another bare parse; its best
of 5 is always the run that follows ours. Back to back, each call after one of its own kind
(what a timeit loop measures), the figures are 224 ms against 93 ms: 2.4x.

Tried and measured, no better than the proxy walk: `XPath("*/*/text()", smart_strings=False)`
47 ms for the texts alone (against 50 ms for proxies, tags and texts), with no names and no
empty elements; one XPath per field 187 ms; an XSLT writing name/text pairs 116 ms; a parser
target with only an `end` method 118 ms before doing any work (1.9x bare), pyexpat with empty
handlers 237 ms, XMLPullParser 147 ms; ElementNamespaceClassLookup (one class per field) makes
proxies 2.5 times dearer. Touching each child's tag and text through lxml costs 50 ms, so with
the tree, its free and the allocator 2.5x (157 ms) leaves nothing for building typed values.
Reaching it needs either a change of method agreed for both sides (e.g. best of several
back-to-back calls, which charges each side for the memory it frees: 2.4x today) or a
different reader than lxml's element API (e.g. a compiled extension); the goal as measured
now is out of reach for a Python walk over lxml elements.
""",
    "burst": """
Cause: CPU per email in the daemon's event loop, not I/O. Per email the daemon's process
spends about 3 to 4 times the CPU of the raw sender, nearly all of it in Python's `email`
package: building the EmailMessage (`assemble` in `notifier/mail/message.py`: every header
parsed into a header object, both parts encoded) and flattening it again in aiosmtplib's
`send_message` (every header refolded through `email._header_value_parser`), on top of
`render_bodies`. The raw peer pays only the flattening. The store's two transactions per
email run in the store's thread and were not the limit (turning fsync off changed nothing
beyond noise); the simulator in the same process took under 2 %.

Fixed since the first measurement (0.30 of the raw rate): `_transfer_encoding` counted
non-ASCII characters in a Python loop (a quarter of `assemble`; now counted in C), the header
registry made a new class for every header set (now once per header name, `_HeaderClasses`),
printable job text went through a per-character cleaning loop (now a C check first), and
babel formatters, zone names, percentages and label widths were recomputed per email (now
cached per locale). `build_message` went from about 3.7 ms to about 2.3 ms per email, and the
render benchmark now meets its goal; the burst ratio did not move past noise because the raw
peer speeds up just as much on a quiet machine (0.29: 129 against 449 emails/s).

What is left, and the fix: build the message once as bytes with a small writer of the header
block (the header values are already known to be safe: `header_text`, `_address`) and the
C-speed `binascii` encoders for the two parts, and hand the bytes to
`aiosmtplib.SMTP.sendmail(sender, [recipient], data)` in `notifier/mail/sender.py`: that
removes both the header-object parsing and the second flattening, about 3 ms of the roughly
5 ms the daemon adds per email. It changes the seam between the dispatcher and the mailer
(bytes instead of an EmailMessage), so it is a change of its own, with the tests of both.
A smaller item: `set_completion` is one transaction per delivery; one per round would do.
""",
    "latency": f"""
Cause: the same per-email CPU, felt as queueing. Rendering and MIME assembly run synchronously
in the event loop (about 4 to 5 ms per email, more on a loaded machine), so when one poll
brings several changes (up to about a dozen here), the four SMTP conversations cannot overlap:
every SMTP round trip of one delivery waits for the synchronous build of the others. Traced
per delivery, `Mailer.send` took 70 to 250 ms in such rounds against 4 ms for a lone raw
send to the same sink, and the last email of a round of 13 was accepted 400 ms after its poll.
Emails of finished jobs also wait for the getJobLogs answer of their round first (about
100 ms in the traced round, the simulator running in the same process).
{_PER_EMAIL_CPU}
With the build at about 1.5 ms per email, a round of a dozen emails fits well within 250 ms.
Building the message in `asyncio.to_thread` would not help much (the GIL), cutting its cost
does.
""",
    "render": """
Cause: about 40 % of `render_bodies` (`notifier/mail/render.py`) is outside the templates, in
`_context` and `_facts` (cProfile):

- babel formatting per email: `format_decimal`, `format_percent`, `format_unit` and
  `format_datetime` re-read locale data and re-apply number patterns on every call
  (`babel/numbers.py` `apply`, `_quantize_value`, `localedata.__getitem__`). Fix: cache per
  catalog what does not change (the parsed number and percent patterns, the size unit
  patterns, the zone name) in `Formatter` (`notifier/mail/formatting.py`), and cache
  `Formatter.for_catalog(catalog, timezone)` itself with `functools.cache`.
- `safe_text.body_text` (`notifier/mail/safe_text.py`) calls the Python function `_body_char`
  for every character of the job name and description (over 100,000 calls for 720 emails).
  Fix: one `str.translate` table or one precompiled regular expression for the characters
  it replaces.
- `facts_text` measures label widths with `_display_width`, a per-character
  `unicodedata.east_asian_width` loop, on labels that are constant per catalog. Fix:
  `functools.cache` on `_display_width`.

The templates themselves render at about the plain environment's speed: the rest of the gap
is the gettext calls into real catalogs, which are the point of the product.
""",
    "scale": """
Parse, diff and commit are each linear loops; broken down by phase in a separate run (same
sizes, wall time per job), the later-poll costs were flat: parse about 25 µs, diff about
3 µs, commit about 1.5 µs per job at 1,000, 10,000 and 50,000 jobs alike. A per-job ratio
well above 1 in the table therefore points at the machine (other work, or a garbage
collection landing in one of the timed polls at 50,000 jobs, where 50,000 ActiveJob objects
and the tracked state are alive at once) rather than at an algorithm; rerun
`python -m bench.scale` to check. If it persists, `gc.freeze()` after each commit in
`notifier/poller.py` keeps the long-lived tracked state out of the collector's scans. Note
that a 50,000-job answer is 52 MB, close to the client's 64 MB response limit
(`DEFAULT_MAX_BYTES`, `notifier/ips/envelope.py`): past about 60,000 jobs one company's
answer is refused.
""",
}
