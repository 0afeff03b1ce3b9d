"""The pure core: job events from successive snapshots, their outcomes and stored form.

jobs.py (the IPS jobs it reads), diff.py (the reducer), rules.py (its settings), state.py
(what it remembers), events.py (what it emits), outcome.py (what became of a finished job),
codec.py (JSON for the store).
Imports nothing that does I/O.
"""
