"""A crash at each step of a task's life: the gateway stops with a task queued,
forwarding (upstream made it, or not), submitted, pending, or following, and the next
start settles every one by the rules: nothing sent twice, nothing paid for lost, nothing
charged for nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from klein_widget.client._models import GenerationRequest

from .conftest import HostileClass


@pytest.mark.parametrize(
    ("status", "upstream_made_it", "ends"),
    [
        ("queued", False, ("completed", "charged")),
        ("forwarding", True, ("completed", "charged")),  # found in upstream's record
        ("forwarding", False, ("failed", "refunded")),  # upstream has no record: refunded
        ("pending", True, ("completed", "charged")),
        ("pending", False, ("failed", "refunded")),
        ("submitted", True, ("completed", "charged")),
    ],
)
def test_a_crash_at_each_step_is_settled_at_the_next_start(
    hostile: Callable[..., HostileClass],
    status: str,
    upstream_made_it: bool,
    ends: tuple[str, str],
) -> None:
    klass = hostile()
    token = klass.running.gateway.db.add_student("ada", 100)
    klass.running.stop()  # the crash: the row below is what the journal holds
    request = GenerationRequest("a crashed fox", 320, 256, 77)
    upstream_id = None
    if upstream_made_it:  # the submit reached upstream before the gateway died
        upstream_id = klass.emulator.submit(request).id
    from klein_widget.gateway import ClassDB

    db = ClassDB(klass.db_path)
    task = db.open_task("ada", "image", request, 8)
    assert task is not None
    db.update(task.id, status=status, upstream_id=upstream_id if status == "submitted" else None)
    db.close()
    klass.restart()
    data = klass.settled(token, task.id)
    assert (data["status"], data["gateway"]["charge"]) == ends
    assert klass.emulator.accepted == (1 if upstream_made_it or status == "queued" else 0)
    klass.invariants()


def test_a_follower_of_a_crashed_leader_is_settled_free(
    hostile: Callable[..., HostileClass],
) -> None:
    klass = hostile()
    ada = klass.running.gateway.db.add_student("ada", 100)
    klass.running.gateway.db.add_student("bo", 100)
    klass.running.stop()
    from klein_widget.gateway import ClassDB

    db = ClassDB(klass.db_path)
    request = GenerationRequest("a shared fox", 320, 256, 5)
    leader = db.open_task("ada", "image", request, 8)
    assert leader is not None
    db.update(leader.id, status="forwarding")
    follower = db.open_task("bo", "image", request, 0, status="following", cached=True,
                            leader=leader.id)  # fmt: skip
    assert follower is not None
    db.close()
    klass.restart()
    assert klass.settled(ada, leader.id)["gateway"]["charge"] == "refunded"
    klass.invariants()
