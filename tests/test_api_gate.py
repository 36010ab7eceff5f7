"""The API's keyed gate on its own: one holder per key, waiters in arrival order, nothing left when idle."""

from __future__ import annotations

import asyncio

from potrack.api.gate import KeyedGate

LONG_S = 5.0  # a wait that must not run out in these tests
SHORT_S = 0.05


async def test_the_first_enters_at_once_and_other_keys_do_not_wait() -> None:
    gate = KeyedGate()
    assert await gate.enter(('WC001', 'PO-1'), LONG_S)
    assert await gate.enter(('WC001', 'PO-2'), LONG_S)
    assert (gate.held(), gate.waiting()) == (2, 0)
    gate.leave(('WC001', 'PO-1'))
    gate.leave(('WC001', 'PO-2'))
    assert (gate.held(), gate.waiting()) == (0, 0)


async def test_waiters_of_one_key_get_their_turn_in_arrival_order() -> None:
    gate = KeyedGate()
    order: list[int] = []
    assert await gate.enter('k', LONG_S)

    async def one(n: int) -> None:
        assert await gate.enter('k', LONG_S)
        order.append(n)
        await asyncio.sleep(0)  # hold the turn across a suspension, as a write in a thread does
        gate.leave('k')

    tasks = [asyncio.create_task(one(n)) for n in range(4)]
    await asyncio.sleep(0)
    assert (gate.waiting(), order) == (4, [])
    gate.leave('k')
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3]
    assert (gate.held(), gate.waiting()) == (0, 0)


async def test_a_waiter_whose_time_runs_out_gives_up_and_leaves_no_trace() -> None:
    gate = KeyedGate()
    assert await gate.enter('k', LONG_S)
    assert not await gate.enter('k', SHORT_S)
    assert (gate.held(), gate.waiting()) == (1, 0)
    gate.leave('k')
    assert gate.held() == 0
    assert await gate.enter('k', SHORT_S)  # free again at once
    gate.leave('k')


async def test_a_cancelled_waiter_does_not_take_the_turn_with_it() -> None:
    gate = KeyedGate()
    assert await gate.enter('k', LONG_S)
    cancelled = asyncio.create_task(gate.enter('k', LONG_S))
    after = asyncio.create_task(gate.enter('k', LONG_S))
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.sleep(0)
    gate.leave('k')
    assert await asyncio.wait_for(after, LONG_S)
    assert cancelled.cancelled()
    gate.leave('k')
    assert (gate.held(), gate.waiting()) == (0, 0)


async def test_a_turn_handed_over_as_the_wait_ends_is_passed_on() -> None:
    gate = KeyedGate()
    assert await gate.enter('k', LONG_S)
    late = asyncio.create_task(gate.enter('k', LONG_S))
    nxt = asyncio.create_task(gate.enter('k', LONG_S))
    await asyncio.sleep(0)
    gate.leave('k')  # the turn goes to `late`, which is cancelled before it can run
    late.cancel()
    assert await asyncio.wait_for(nxt, LONG_S)  # so it went on to the next
    gate.leave('k')
    assert (gate.held(), gate.waiting()) == (0, 0)
