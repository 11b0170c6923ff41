"""Issue 11, real-API fidelity: sync-mode timeouts continue by polling, every in-progress
status word keeps polling, and polls go to ``data.urls.get`` only on the API's origin."""

from __future__ import annotations

import pytest

from klein_widget import GenerationFailedError
from tests.hostile import answers as A
from tests.hostile.harness import Servers, check_invariants, run_target
from tests.hostile.server import envelope, json_answer

BOTH = ("sync", "async")


@pytest.mark.parametrize("target", BOTH)
def test_sync_mode_5004_continues_by_polling(target: str, servers: Servers) -> None:
    """A sync-mode POST answered HTTP 200 with code 5004 still has its task: poll it."""
    timed_out = json_answer(
        envelope(code=5004, message="Sync mode timed out", status="processing", outputs=[])
    )
    outcome = run_target(target, servers, A.only("submit", timed_out), sync_mode=True)
    assert outcome.raised is None, outcome.describe()
    assert servers.api.count("submit") == 1
    assert servers.api.count("result") >= 1
    check_invariants(outcome, servers)


@pytest.mark.parametrize("target", BOTH)
def test_sync_mode_gateway_504_with_task_id_continues_by_polling(
    target: str, servers: Servers
) -> None:
    timed_out = json_answer(envelope(status="processing", outputs=[]), 504)
    outcome = run_target(target, servers, A.only("submit", timed_out), sync_mode=True)
    assert outcome.raised is None, outcome.describe()
    assert servers.api.count("submit") == 1
    check_invariants(outcome, servers)


@pytest.mark.parametrize("word", [*A.RUNNING, "", "mystery-state"])
def test_in_progress_status_words_keep_polling(word: str, servers: Servers) -> None:
    outcome = run_target("sync", servers, A.only("result", A.running(word), A.running(word)))
    assert outcome.raised is None, outcome.describe()
    assert servers.api.count("result") == 3
    check_invariants(outcome, servers)


@pytest.mark.parametrize("word", A.FAILED)
def test_failed_status_words_end_with_the_task_id(word: str, servers: Servers) -> None:
    failed = json_answer(envelope(status=word, outputs=[], error="the model refused"))
    outcome = run_target("sync", servers, A.only("result", failed))
    assert isinstance(outcome.raised, GenerationFailedError), outcome.describe()
    assert outcome.raised.task_id == servers.api.accepted_ids()[0]
    assert servers.api.count("submit") == 1
    check_invariants(outcome, servers)


@pytest.mark.parametrize("target", BOTH)
def test_polls_data_urls_get_when_same_origin(target: str, servers: Servers) -> None:
    created = json_answer(
        envelope(status="created", outputs=[], urls={"get": "%BASE%/api/v3/predictions/%ID%"})
    )
    outcome = run_target(target, servers, A.only("submit", created))
    assert outcome.raised is None, outcome.describe()
    assert servers.api.count("result_alt") >= 1
    assert servers.api.count("result") == 0


@pytest.mark.parametrize("target", BOTH)
def test_urls_get_on_another_origin_is_not_polled(target: str, servers: Servers) -> None:
    """A urls.get elsewhere is ignored; the key never goes there."""
    created = json_answer(
        envelope(status="created", outputs=[], urls={"get": "%OTHER%/api/v3/predictions/%ID%"})
    )
    outcome = run_target(target, servers, A.only("submit", created))
    assert outcome.raised is None, outcome.describe()
    assert servers.img.count("result") + servers.img.count("result_alt") == 0
    assert servers.api.count("result") >= 1
    check_invariants(outcome, servers)
