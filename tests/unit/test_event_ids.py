from notifier.core.events import EventKind, event_id, run_id


def test_same_change_gives_same_event_id() -> None:
    a = event_id("47", "47|Job|", 1, EventKind.STARTED, 0)
    assert a == event_id("47", "47|Job|", 1, EventKind.STARTED, 0)


def test_each_part_of_an_event_changes_its_id() -> None:
    base = event_id("47", "47|Job|", 1, EventKind.PROGRESS, 50)
    others = {
        event_id("48", "47|Job|", 1, EventKind.PROGRESS, 50),
        event_id("47", "47|Job2|", 1, EventKind.PROGRESS, 50),
        event_id("47", "47|Job|", 2, EventKind.PROGRESS, 50),
        event_id("47", "47|Job|", 1, EventKind.STALLED, 50),
        event_id("47", "47|Job|", 1, EventKind.PROGRESS, 75),
    }
    assert base not in others
    assert len(others) == 5


def test_handles_with_separators_do_not_collide() -> None:
    assert run_id("4|7", "x", 1) != run_id("4", "7|x", 1)
