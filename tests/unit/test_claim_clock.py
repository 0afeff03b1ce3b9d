"""A replica counts a claimed delivery as its own only while the server surely still holds
the claim: until a lease after the claim (or the renewal naming it) was sent."""

from __future__ import annotations

from notifier.store.postgres.claimclock import ClaimClock

LEASE = 10.0


def test_a_claim_holds_for_a_lease_from_when_it_was_sent() -> None:
    clock = ClaimClock(LEASE)
    clock.claimed([1, 2], sent_at=100.0)
    assert clock.may_send([1, 2], now=109.9)
    assert not clock.may_send([1], now=110.0)
    assert not clock.may_send([3], now=100.0), "never claimed"
    assert not clock.may_send([1, 3], now=100.0), "a digest is sent only if all of it is held"


def test_a_renewal_extends_only_the_claims_it_names() -> None:
    clock = ClaimClock(LEASE)
    clock.claimed([1, 2], sent_at=100.0)
    clock.renewed([1, 7], sent_at=105.0)  # 2 had run out on the server; 7 is not known here
    assert clock.may_send([1], now=114.9)
    assert not clock.may_send([2], now=110.0)
    assert not clock.may_send([7], now=106.0)


def test_a_claim_answered_after_a_renewal_keeps_its_own_deadline() -> None:
    clock = ClaimClock(LEASE)
    clock.renewed([5], sent_at=104.0)  # saw claim 5 committed before its answer arrived
    clock.claimed([5], sent_at=103.0)
    assert clock.may_send([5], now=112.9) and not clock.may_send([5], now=113.0)


def test_a_result_or_a_release_ends_the_claim() -> None:
    clock = ClaimClock(LEASE)
    clock.claimed([1, 2], sent_at=100.0)
    clock.done([1])
    assert not clock.may_send([1], now=101.0) and clock.may_send([2], now=101.0)
    assert clock.held() == [2], "what a renewal names"
    clock.forget_expired(now=111.0)
    clock.renewed([2], sent_at=111.0)  # forgotten: not brought back by a late renewal
    assert not clock.may_send([2], now=112.0)
