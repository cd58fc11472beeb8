"""The soak's hostile-tenant verdict: ordinary developers lose nothing, have nothing dead-lettered,
and wait at most twice as much counted work beside the hostile developer."""

from eventsapi.harness.hostile_tenant import HostileReport, Run


def run(delays: list[int], lost: int = 0, dead: int = 0) -> Run:
    return Run(delays=delays, lost=lost, dead_lettered=dead, hostile_posts=0, recover_calls=0)


def test_p99_is_the_value_ninety_nine_percent_stay_within():
    assert run(list(range(1, 101))).p99 == 99
    assert run([3]).p99 == 3 and run([]).p99 == 0


def test_the_verdict_holds_only_within_twice_the_delay_and_with_nothing_lost_or_dead_lettered():
    alone = run([2, 3, 4])
    assert HostileReport(alone, run([2, 4, 8]), 1, 1).ok
    assert not HostileReport(alone, run([2, 4, 9]), 1, 1).ok
    assert not HostileReport(alone, run([2, 3, 4], lost=1), 1, 1).ok
    assert not HostileReport(alone, run([2, 3, 4], dead=1), 1, 1).ok
    assert "HOLDS" in HostileReport(alone, run([4]), 1, 1).render()
