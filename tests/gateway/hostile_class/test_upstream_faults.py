"""Upstream fault families on submit, result and download, each drawn against a class of
students, with every invariant checked after each draw: budgets exact, no charge without
an image or a settled refund, no paid image lost, the key nowhere."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from klein_widget.gateway._aftercare import REFUNDED
from tests.gateway.conftest import SUBMIT

from .conftest import HostileClass

RESULT = "/api/v3/predictions/*"
IMAGE = "/emulator/images/*"

# (channel, actions): the emulator's own script, or Flaky's (hang, garbage).
FAMILIES: list[tuple[str, tuple[object, ...]]] = [
    ("submit", (500,)),
    ("submit", (502,)),
    ("submit", (503,)),
    ("submit", ("drop",)),
    ("submit", ("reset",)),
    ("flaky-submit", ("hang",)),
    ("flaky-submit", ("garbage",)),
    ("result", (503,) * 30),  # the result endpoint erring for a while
    ("result", ("drop",) * 10),
    ("flaky-result", ("garbage",) * 10),
    ("flaky-result", ("hang",) * 3),
    ("image", (500,) * 10),
    ("image", ("drop",) * 5),
    ("flaky-image", ("hang",) * 2),
    ("task", ("fail",)),
]


def _inject(hostile: HostileClass, channel: str, actions: tuple[object, ...]) -> None:
    if channel.startswith("flaky-"):
        where = {"flaky-submit": f"POST {SUBMIT}", "flaky-result": f"GET {RESULT}",
                 "flaky-image": f"GET {IMAGE}"}[channel]  # fmt: skip
        hostile.flaky.script(where, *[str(a) for a in actions])
    else:
        hostile.emulator.script(channel, *actions)  # type: ignore[arg-type]


@pytest.mark.parametrize(("channel", "actions"), FAMILIES, ids=lambda v: str(v)[:20])
def test_a_fault_family_never_charges_for_nothing_nor_loses_a_paid_image(
    hostile: Callable[..., HostileClass], channel: str, actions: tuple[object, ...]
) -> None:
    klass = hostile()
    tokens = [klass.running.gateway.db.add_student(f"s{i}", 100) for i in range(3)]
    _inject(klass, channel, actions)
    ids = [(t, klass.submit(t, seed=10 + i).json()["data"]["id"]) for i, t in enumerate(tokens)]
    ends = [klass.settled(t, task_id) for t, task_id in ids]
    for data in ends:
        charge = data["gateway"]["charge"]
        assert (data["status"], charge) in (("completed", "charged"), ("failed", "refunded"))
    klass.invariants()


def test_an_answerless_submit_upstream_never_made_is_refunded_and_says_so(
    hostile: Callable[..., HostileClass],
) -> None:
    klass = hostile()
    token = klass.running.gateway.db.add_student("ada", 100)
    klass.emulator.script("submit", 503)
    task_id = klass.submit(token).json()["data"]["id"]
    data = klass.settled(token, task_id)
    assert (data["status"], data["error"], data["gateway"]["charge"]) == (
        "failed", REFUNDED, "refunded",
    )  # fmt: skip
    assert klass.emulator.accepted == 0
    assert klass.running.gateway.db.student("ada").spent_mills == 0  # type: ignore[union-attr]


def test_a_result_endpoint_down_for_a_while_loses_no_paid_image(
    hostile: Callable[..., HostileClass],
) -> None:
    klass = hostile(max_backoff=0.05)  # the same 60 errors met, in a quarter of the time
    token = klass.running.gateway.db.add_student("ada", 100)
    klass.emulator.script("result", *([503] * 60))  # far past the client's own retries
    task_id = klass.submit(token).json()["data"]["id"]
    data = klass.settled(token, task_id)
    assert data["status"] == "completed"
    assert data["gateway"]["charge"] == "charged"
    klass.invariants()


@pytest.mark.parametrize("seed", range(2))
def test_mixed_draws_over_a_class(hostile: Callable[..., HostileClass], seed: int) -> None:
    dice = random.Random(seed)
    klass = hostile()
    tokens = [klass.running.gateway.db.add_student(f"s{i}", 40) for i in range(4)]
    for channel, actions in dice.sample(FAMILIES, 4):
        _inject(klass, channel, actions[: dice.randint(1, len(actions))])
    ids = []
    for i in range(8):
        token = dice.choice(tokens)
        answer = klass.submit(token, seed=dice.randint(1, 5), prompt=f"fox {i % 3}")
        if answer.status_code == 200:
            ids.append((token, answer.json()["data"]["id"]))
        else:
            assert answer.status_code == 402  # only a budget may refuse a valid student
    for token, task_id in ids:
        klass.settled(token, task_id)
    klass.invariants()


def test_one_hanging_submit_does_not_hold_back_the_class(
    hostile: Callable[..., HostileClass],
) -> None:
    klass = hostile()
    # Long enough for the other three to settle meanwhile (0.7 s with the machine at load
    # 10), short enough not to be the test's whole cost (it was 4 s).
    klass.flaky.hang = 2.5
    tokens = [klass.running.gateway.db.add_student(f"s{i}", 100) for i in range(4)]
    klass.flaky.script(f"POST {SUBMIT}", "slow")  # the first submit hangs for a while
    first = klass.submit(tokens[0], seed=1).json()["data"]["id"]
    others = [(t, klass.submit(t, seed=2 + i).json()["data"]["id"]) for i, t in
              enumerate(tokens[1:])]  # fmt: skip
    for token, task_id in others:
        assert klass.settled(token, task_id)["status"] == "completed"
    assert klass.result(tokens[0], first)["status"] != "completed"  # still hanging upstream
    assert klass.settled(tokens[0], first)["status"] == "completed"
    klass.invariants()


@pytest.mark.parametrize("fault", ["garbage", "hang"])
def test_an_unreadable_history_keeps_a_task_pending_until_it_can_be_read(
    hostile: Callable[..., HostileClass], fault: str
) -> None:
    klass = hostile()
    token = klass.running.gateway.db.add_student("ada", 100)
    klass.emulator.script("submit", "drop")  # made upstream, answer lost
    klass.flaky.script("POST /api/v3/predictions", *[fault] * 3)  # the history errs a while
    task_id = klass.submit(token).json()["data"]["id"]
    data = klass.settled(token, task_id)
    assert (data["status"], data["gateway"]["charge"]) == ("completed", "charged")
    assert not klass.flaky.scripts["POST /api/v3/predictions"]  # every fault was met
    klass.invariants()
