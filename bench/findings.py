"""The prose of docs/BENCHMARKS.md: what the benchmarks measure, how to rerun them, and for
each profiled benchmark the cause found, what fixed it, and what is left.

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
  and by bare `lxml.etree.fromstring`; best of several calls each, after an untimed call of
  its own kind (each in its own steady state, as a poller parses round after round).
- **diff** (`bench/diff.py`): diff and commit of a 10,000-job snapshot with 1 % changed, against
  a store that rewrites every row (CPU time, median of 7 rounds). In the same rounds the same
  state and events are committed to a `PostgresStore` (leading under a term, as a replica
  that won the election) on a private PostgreSQL server with its durable defaults
  (`bench/pgcluster.py`), the two commits of a round one after the other in alternating
  order; the two stores are compared by wall time, since CPU time does not count the
  server's work.
- **burst** (`bench/burst.py`): 2,000 Running jobs, already seen by the daemon (in-process,
  poll every 0.2 s, `finish_confirm_polls = 1`, job logs written), finish at once; time from
  the poll that first saw them gone to the last email accepted by an aiosmtpd sink running in
  its own process. Peer (the goal's): raw aiosmtplib sending 2,000 prebuilt emails of the
  same kind, EmailMessage objects built beforehand with the `email` API and sent with
  `send_message` as a script does, over `smtp.max_connections` (4) connections to the same
  sink (the faster of a run before and a run after the daemon's). Shown beside it, a stricter
  peer: the daemon's own prebuilt bytes sent with `sendmail`, which pays for SMTP alone.
- **replicas** (`bench/replicas.py`): the same 2,000-job burst against real `notifier run`
  processes (each with its own event loop and GIL, as replicas on separate machines have),
  one after the other against one sink that records every Message-ID: one daemon on SQLite;
  two replicas on one database of a private durable PostgreSQL server (one leads and polls,
  both claim and send, 4 SMTP connections each); one daemon on the same server. Time from
  the poll that saw the jobs gone to the first copy of the last email; lost = 2,000 minus the
  distinct Message-IDs, duplicates = the copies beyond one; each replica's share is its own
  `notifier_emails_total{result="sent"}`; CPU of every process, of the server and of the
  machine over the burst from /proc.
- **outcomes** (`bench/outcomes.py`): 2,000 finished jobs waiting for their outcome, their
  outcomes recorded in one `set_completions` call (which makes their deliveries ready), on
  SQLite and on the same durable PostgreSQL server; wall time, median of 3 rounds.
- **digest** (`bench/digest_burst.py`): 2,000 Running jobs of ONE submitter, already seen,
  only `finished` notified, `[digest] after = 5, window = 5`; all finish at once. Counts the
  emails the recipient got and the jobs the digest listed (all 2,000: the held ones and the
  5 already sent), and times the digest's acceptance from the poll that saw the jobs gone;
  the window is most of that time, the rest is the daemon's work.
- **webhook** (`bench/webhook.py`): 2,000 Running jobs, already seen, submitter emails off,
  one route sending every finished job to a `json` webhook with a secret; all finish at
  once. Time from the poll that saw them gone to the last POST answered by an aiohttp.web
  receiver in its own process, and from the first POST to the last. Peer: raw aiohttp
  posting the same kind of bodies with their headers (signature included) prebuilt, over as
  many connections as the daemon has POSTs on the wire (4), to the same receiver (the faster
  of a run before and a run after the daemon's).
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
    make bench                                   # everything, then this page (about 7 min)
    .venv/bin/python bench/run.py --only burst latency   # some of them (still rewrites this page)
    .venv/bin/python bench/run.py --footprint-seconds 60  # a shorter footprint watch
    .venv/bin/python -m bench.parse              # one benchmark, printed, page untouched
    .venv/bin/python -m bench.diff
    .venv/bin/python -m bench.burst
    .venv/bin/python -m bench.replicas           # starts a PostgreSQL server of its own
    .venv/bin/python -m bench.outcomes           # so does this one, and bench.diff
    .venv/bin/python -m bench.digest_burst
    .venv/bin/python -m bench.webhook
    .venv/bin/python -m bench.latency
    .venv/bin/python -m bench.render
    .venv/bin/python -m bench.scale
    .venv/bin/python -m bench.footprint 180      # seconds to watch

Run them from the checkout, on a machine as quiet as you can get: the load average at the start
is printed above because other work on the machine shows up in the absolute figures.
`tests/unit/test_bench.py` runs each module at a toy size so that they cannot rot. The
PostgreSQL benchmarks need Debian's postgresql package (`initdb`, `pg_ctl`; as root they run
the server as the `postgres` user), as the tests do.
"""

FINDINGS: dict[str, str] = {
    "parse": """
Two things were wrong: the parser did more per element than it had to, and the measurement
did not compare like with like.

The parser (profiled by phase, no profiler overhead): the walk in `_items` translated each of
the 180,000 child tags to a local name, a dict lookup on a freshly made string per element;
it now keys each item's dict by the full tag, and the reader looks fields up by full tag in
the namespace of the first item (an item with a child in another IPS namespace, or in none,
is re-read by local name, so every document reads as before: a property test compares any
mix of namespaces with its tidied form). ActiveJobs are made by `new_active_job`
(`notifier/ips/models.py`), a slotted twin given ActiveJob's class: the same value in every
respect, 10,000 in 9 ms instead of 32 ms through the frozen `__init__`. Repeated dateTime
texts are parsed once per response. About 241 ms became about 212 to 225 ms.

The measurement: the bare lxml peer's best time depended on what ran just before it. Right
after a call that freed a large tree (ours), bare `fromstring` took 63 to 70 ms; right after
itself, 90 to 97 ms; the memory allocator's state, not lxml, made the difference, and
identical runs gave ratios from 2.1 to 3.4. Each side is now timed in its own steady state,
after an untimed call of its own kind, as the poller parses round after round; the ratio then
agrees within a few percent between runs. Timed the old way, the same code read anywhere
from 2.1 to 3.4.

What is left: of our time, the tree is what bare lxml spends; touching each child's tag and
text through lxml (a proxy object and a "{namespace}name" string per element) costs about
50 ms more, one dict per item about 18 ms, and the 10,000 typed jobs about 25 ms. Tried and
no better than the proxy walk: `XPath("*/*/text()")` (47 ms for the texts alone, without
names or empty elements), one XPath per field (187 ms), an XSLT writing name/text pairs
(116 ms), a parser target (118 ms before any work), pyexpat (237 ms), XMLPullParser
(147 ms), and one Python class per field through lxml's class lookup (proxies 2.5 times
dearer). The margin under 2.5x is small; a reader other than lxml's element API (a compiled
extension) would be the next step.
""",
    "diff": """
PostgreSQL beside SQLite, the same rounds (wall time; the commits of a round one after the
other, in alternating order): the commit of the 100 changed jobs, their 50 events and their
deliveries took 24.0 ms on PostgreSQL and 21.4 ms on SQLite (1.12x), diff + commit 58.1 and
55.6 ms (1.05x); the run before it gave 1.14x and 1.06x. The benchmark's server runs with
PostgreSQL's defaults, `fsync = on`, `synchronous_commit = on`, `full_page_writes = on`
(`wal_sync_method = fdatasync`, `shared_buffers = 128MB`), unlike the tests' cluster
(`tests/postgres.py` turns fsync and full_page_writes off for speed); SQLite runs as the
product opens it, `journal_mode = WAL`, `synchronous = FULL`. Both write to the same ext4
disk, and both wait for one flush per commit.

What bounds each: that flush, and the client's work. The PostgreSQL commit cost 17.1 ms of
CPU in this process (psycopg packing each changed column as one binary array, one statement
per table, `notifier/store/postgres/tracked.py`), the SQLite commit 17.3 ms, where the
statements themselves run in the process (13.7 and 16.7 ms in the run before). CPU time
leaves out the PostgreSQL server's work, done in processes of its own, so the row compares
wall time. Only changed rows are written on both: the leader's cached state, kept valid by
its leadership term, does for PostgreSQL what the single writer does for SQLite.
""",
    "burst": """
Profiled with cProfile and per-thread CPU times of the daemon's process. The first runs gave
0.29 to 0.36 of the raw rate; the causes, in the order of their weight:

- **The `email` package.** Building an `EmailMessage` parsed every header into a header
  object, and aiosmtplib's `send_message` then flattened and refolded every header again:
  about 2.8 ms of the roughly 5 ms the daemon added per email. Fixed: `notifier/mail/message.py`
  writes the header block and both parts as bytes (`OutgoingEmail`): short ASCII headers as
  they are, anything needing encoding or folding through the `email` package as before, the
  bodies through `binascii`; `notifier/mail/sender.py` sends them with `sendmail`. About
  0.25 ms per email now.
- **A disk sync per email inside the send slot.** Each "sent" mark was a transaction of its
  own, synced to disk (`synchronous = FULL`), and the slot was held until it was written: the
  connections stood idle behind one sync per email. Fixed: marks made at the same moment share
  one transaction (group commit, `notifier/store/sqlite.py`); the outcomes of a round's
  finished jobs are stored in one transaction instead of one each before any email could go.
- **Rendering inside the send slot.** An email was rendered only when a connection came free.
  Fixed: the dispatcher builds up to `smtp.max_connections` emails ahead of the slots; the
  slots, and so the crash duplicate bound, are unchanged.
- Smaller: the templates were checked on disk for every email (Jinja2 `auto_reload`), duration
  parts went through babel every time, and each address was validated three times.

What is left: the daemon is now bound by one core at about 2.3 ms of CPU per email: rendering
with Jinja2 and babel (about 0.7 ms), aiosmtplib's own work (about 0.8 ms, as much as either
peer pays), headers (about 0.2 ms), and the poll, store and bookkeeping. The goal's peer
flattens each prebuilt EmailMessage as it sends it (about 1.3 ms), which the daemon no longer
does, so the daemon now meets the goal; against the stricter bytes peer, which renders
nothing, the difference is the rendering itself. A process pool for rendering would use a
second core, but on this two-core machine the sink has it.

After the delivery redesign (channels, recipients, the delivery loop), re-measured on
2026-12-01 with other work on the machine (load average 1.5 to 4): 0.60, 0.79 and 0.73 of
the raw rate in three runs; the release before the redesign, run just before one of them,
gave 0.67. The spread is the machine's load; the redesign did not cost the goal. A cProfile
of the daemon shows the same split as above (rendering and aiosmtplib), no new hot spot in
the loop, routing or store.
""",
    "replicas": """
Real `notifier run` processes rather than daemons in this process: two replicas in one
process would share one event loop and one GIL, and measure nothing about replicas; as
processes each has its own loop and can use a core of its own, as on two machines. The
store settings are the defaults (`leader_lease = 10`: a new leader confirms its lock that
long before its first poll, which is why each PostgreSQL setup takes some 12 s to start).

In the run of the table (load average 0.68 at its start), two replicas on PostgreSQL
delivered 299 emails/s against 307 for one daemon on SQLite (0.97), and one daemon on
PostgreSQL 233 (0.76 of SQLite's); in the run just before it, 278, 201 and 253 (1.39 and
1.26). Before the standby stopped reading the outcomes' backlog (see below), three runs gave
0.80, 0.84 and 1.51 for two replicas against SQLite: on this shared machine the ratios move
with whatever else runs, more than between the setups. Both replicas sent a real share
(1,000 each here; 900 and 1,100, 800 and 1,200 before): a replica claims up to 100 due
deliveries a round (the delivery loop's batch), so the shares move in hundreds. No email was
lost or sent twice in any setup of any run: 2,000 distinct finished-job Message-IDs at the
sink, none of them twice.

What bounds it:

- **The machine.** Every part shares its two cores: the daemons, the sink (about 3 s of CPU
  a burst), the simulator and the PostgreSQL server (about 1 s). A second replica on the
  same two cores brings no core of its own; replicas on machines of their own add cores,
  which this machine cannot show. What the benchmark does show is the sharing: both claim,
  each sends what it holds, none twice.
- **The standby's rounds (fixed).** The two replicas used to spend 10.0 s of CPU on the
  burst (5.8 ms an email, against 3.5 for one daemon): each round of the replica that does
  not poll read and decoded every finished event still waiting for its outcome (2,000 of
  them, every second), only to leave them to the leader. It no longer reads them: 6.6 and
  7.1 s in the last two runs (3.8 and 4.1 ms an email, against 4.0 and 3.7 for one daemon).
- **Outcomes on PostgreSQL (fixed).** A `finished` delivery waits for its outcome. The
  outcomes of the 2,000 jobs used to be recorded in four statements per job (8,000 round
  trips, 1.5 s); they are now five statements in all (the outcomes row: 0.20 s against
  SQLite's 0.16 s), and one daemon on PostgreSQL mails its first email 1.14 s after the
  poll, as SQLite's does (1.06 s), where it used to be 4.3 s.
- **Only the leader resolves outcomes (fixed).** Every replica's delivery loop used to ask
  IPS for the job logs of the waiting finished jobs and write the same outcomes: 40 job-log
  requests for the burst with two replicas. Now only the replica that polls asks (20, one
  per company, as with one daemon), and the other delivers what its outcomes made ready.
- **A flush per email.** The server committed 4,268 transactions and flushed its WAL 1,996
  times for the two-replica burst (4,265 and 2,036 with one daemon): about one flush per
  email, since each `sent` mark is a transaction of its own. Grouping the marks of a moment
  into one transaction, as the SQLite store does, was tried and measured: it did not reduce
  the flushes (1,823), since at 4 sends in flight two marks rarely coincide, and PostgreSQL
  already merges the flushes of concurrent commits; it was left out. On this disk the
  flushes did not bound the burst.
""",
    "outcomes": """
The outcomes of a 2,000-job burst are recorded in 203 ms on PostgreSQL against 162 ms on
SQLite (1.3x), and no `finished` email of the burst goes before they are. Before the fix,
1,540 ms against 169 (9.1x): `PostgresStore.set_completions` ran four statements per job in
one transaction (update the event's completion, read the event back, read its deliveries
not yet ready, update each of them), one round trip each, 8,000 for the burst, where SQLite
runs them in its own process at microseconds a statement. Now it runs five statements
however many jobs (`notifier/store/postgres/outbox.py`, `set_completions`): the completions
in one UPDATE over arrays (`unnest`), the deliveries not yet ready read in one SELECT, and
those made ready, or skipped with their reason, in two more UPDATEs, as the tracked state's
commit does (`tracked.py`).
""",
    "webhook": """
Profiled with cProfile: the daemon's process is idle for about 40 % of the run. The first
POST goes about 0.85 s after the poll that saw the jobs gone: the finish is confirmed, the
job logs are fetched for the outcomes (a `finished` delivery waits for its outcome) and the
deliveries become ready. From then on, about 1,000 POSTs/s over 4 requests on the wire:
each POST is a delivery round's task (build the payload, sign it, aiohttp's client request,
record the result through the group commit), against a peer that only sends prebuilt
requests. Not a goal of its own; what would raise it: more requests on the wire per webhook
(`DEFAULT_CONCURRENCY`), which receivers such as Slack (one message per second per webhook)
would not welcome.
""",
    "latency": """
The slowest emails (a p99 of 160 to 250 ms across runs) were not slow sends: the event loop
stood still for 70 to 100 ms at a time (measured with a 5 ms ticker task and asyncio's slow
callback log), compiling templates. Every catalog has its own Jinja2 environments, and each
compiled every template again for its first email of each kind, about 25 ms a template; when
one poll brings several changes in new languages, the other emails wait for that. Fixed: the
compiled code does not depend on the catalog, so the environments share it (an in-memory
bytecode cache for text and one for HTML, `notifier/mail/templating.py`), and the daemon compiles
every template before it reports ready. The CPU cuts listed under burst shorten every email's
build as well.
""",
    "render": """
Profiled with cProfile: about 40 % of `render_bodies` (`notifier/mail/render.py`) was outside
the templates, in `_context` and `_facts`. Fixed:

- babel formatters and zone names were made per email; they are cached per catalog and time
  zone now (`notifier/mail/formatting.py`), as are percentages and duration parts;
- `safe_text.body_text` called a Python function per character of every job name; printable
  text, the usual case, is now checked in C first;
- `facts_text` measured the constant labels' display widths per email; cached now;
- the environments checked each template's file on disk with every render (`auto_reload`);
  they load the shipped templates once now (the plain peer got the same setting).

The templates themselves render at about the plain environment's speed: the rest of the gap
is the gettext calls into real catalogs and babel's formatting, which are the point of the
product.
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
