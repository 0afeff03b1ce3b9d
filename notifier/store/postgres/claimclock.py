"""Until when a replica may still count a claimed delivery as its own, by its own clock.

A claim runs out on the server's clock `lease` seconds after it was made or last renewed.
This replica cannot read that clock, but it knows when it *sent* each claim or renewal: the
server's deadline is at least that moment plus the lease. So a send is started only while
that local deadline holds, and a replica cut off from the database stops sending what it
claimed before another replica can take it over: repeats stay bounded by the sends already
on the wire (the same reasoning as the leadership's, leadership.py). A renewal names the
claims it extended (a claim that ran out is not renewed), so each keeps its own deadline.

Pure bookkeeping on the monotonic seconds the caller passes: no I/O, no clock of its own.
"""

from __future__ import annotations

from collections.abc import Iterable


class ClaimClock:
    def __init__(self, lease: float) -> None:
        self._lease = lease
        self._until: dict[int, float] = {}  # delivery id -> deadline (monotonic)

    def claimed(self, delivery_ids: Iterable[int], sent_at: float) -> None:
        """A claim (or a renewal) sent at `sent_at` was answered with these deliveries."""
        deadline = sent_at + self._lease
        for ident in delivery_ids:
            self._until[ident] = max(self._until.get(ident, deadline), deadline)

    def renewed(self, delivery_ids: Iterable[int], sent_at: float) -> None:
        """A renewal sent at `sent_at` extended these: those this replica still counts on
        last a lease from `sent_at`; any other (its claim's answer still on its way) keeps
        the deadline its claim gives it."""
        self.claimed((i for i in delivery_ids if i in self._until), sent_at)

    def done(self, delivery_ids: Iterable[int]) -> None:
        """A result was recorded for these, or they were given back: no longer claimed."""
        for ident in delivery_ids:
            self._until.pop(ident, None)

    def held(self) -> list[int]:
        """The deliveries this replica counts as its own (to renew)."""
        return list(self._until)

    def may_send(self, delivery_ids: Iterable[int], now: float) -> bool:
        """True while every one of these is surely still this replica's on the server."""
        return all(self._until.get(ident, float("-inf")) > now for ident in delivery_ids)

    def forget_expired(self, now: float) -> None:
        """Drop the deadlines that passed (claims that ran out, never resolved here)."""
        for ident in [i for i, until in self._until.items() if until <= now]:
            del self._until[ident]
