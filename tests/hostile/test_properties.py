"""Property tests: hypothesis draws the hostile server's answers; every draw must keep the
seven invariants of `tests.hostile.harness` for every target (both clients, both batch
runners, resume).

- `test_safe_answers_keep_every_invariant` draws from the well-formed part of the answer
  space (`answers.SAFE`).
- `test_fault_family_keeps_every_invariant` runs one fault family per target (each family
  broke an invariant in issue 11): first the family's known example (deterministic), then
  hypothesis explores the family. ``--hypothesis-show-statistics`` shows how the draws
  ended (one event per example).
"""

from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st

from tests.hostile import answers
from tests.hostile.harness import (
    ONE_IMAGE,
    STALL_TIMEOUT,
    TARGETS,
    TIMEOUT,
    Servers,
    check_invariants,
    reached,
    run_target,
)

# Bounded for CI: a fixed example sequence, no shrinking (each example is real HTTP with
# timeouts), no example database written to the working tree.
HOSTILE = settings(
    max_examples=20,
    deadline=None,
    database=None,
    derandomize=True,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


def check(
    target: str,
    scripts: dict,
    servers: Servers,
    caplog: pytest.LogCaptureFixture,
    timeout: float = TIMEOUT,
    **options: bool,
) -> None:
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        outcome = run_target(target, servers, scripts, timeout=timeout, **options)
    ended = "image" if outcome.raised is None else type(outcome.raised).__name__
    if outcome.target in ("batch", "abatch") and outcome.result is not None:
        ended = f"{len(outcome.generations)} images, {len(outcome.errors)} errors"
    elif outcome.target == "resume" and outcome.result is not None:
        ended = repr(outcome.result)
    event(f"{target}: {ended}")
    event(f"{target}: scripted answers {'met' if reached(scripts, servers) else 'NOT met'}")
    check_invariants(outcome, servers, caplog.records)


@pytest.mark.parametrize("target", TARGETS)
@HOSTILE
@given(scripts=answers.safe_scripts, sync_mode=st.booleans(), base64_output=st.booleans())
def test_safe_answers_keep_every_invariant(
    target: str,
    scripts: dict,
    sync_mode: bool,
    base64_output: bool,
    servers: Servers,
    caplog: pytest.LogCaptureFixture,
) -> None:
    modes = {"sync_mode": sync_mode, "base64_output": base64_output}
    if target in ("batch", "abatch"):
        modes = {}
    elif target == "resume":
        modes = {"base64_output": base64_output}
    check(target, scripts, servers, caplog, **modes)


# --- fault families: one hostile answer among safe ones ---------------------------------------

ALL = TARGETS
SUBMITTERS = ("sync", "async", "batch", "abatch", "edit", "aedit")


class Family:
    """A fault family: a strategy, a known example of it, the targets it applies to, and
    the calls' timeout: a stall is waited out, so the stall families take `STALL_TIMEOUT`,
    except where the answer floods (`answers.floods`): the body cap must end that one,
    and a batch reads a flood and its other submit's answer on one loop, in time."""

    def __init__(self, strategy, example, targets=ALL, examples=15, timeout=TIMEOUT) -> None:
        self.strategy = strategy
        self.example = example
        self.targets = targets
        self.examples = examples
        self.timeout = timeout


A = answers
FAMILIES = {
    "wrong_shape_submit": Family(
        A.one_fault(A.on("submit", A.wrong_shape), A.READ_SAFE),
        A.only("submit", A.WRONG_SHAPE_SUBMIT),
        SUBMITTERS,
    ),
    "wrong_shape_poll": Family(
        A.one_fault(A.on("result", A.wrong_shape), {"image": A.image_safe}),
        A.only("result", A.WRONG_SHAPE_POLL),
    ),
    "poll_refusal": Family(
        A.one_fault(A.on("result", A.poll_refusal), {"image": A.image_safe}),
        A.only("result", A.POLL_429_LONG),
    ),
    "download_fault": Family(
        A.one_fault(st.one_of(A.on("result", A.bad_output), A.on("image", A.download_refusal)), {}),
        A.only("result", A.RELATIVE_OUTPUT),
    ),
    "bogus_image": Family(
        A.one_fault(st.one_of(A.on("result", A.bogus_output), A.on("image", A.bogus_image)), {}),
        A.only("image", A.BOGUS_IMAGE),
    ),
    "slow_submit": Family(
        A.one_fault(A.on("submit", A.slow_submit), {}),
        A.only("submit", A.ENDLESS_SUBMIT),
        SUBMITTERS,
        examples=8,
        timeout=STALL_TIMEOUT,
    ),
    "slow_read": Family(
        A.one_fault(A.slow_read, {}),
        A.only("image", A.ENDLESS_IMAGE),
        examples=8,
        timeout=STALL_TIMEOUT,
    ),
    "submit_redirect": Family(
        A.one_fault(A.on("submit", A.submit_redirect), A.READ_SAFE),
        A.only("submit", A.SUBMIT_307_OTHER),
        SUBMITTERS,
    ),
    "bad_http": Family(
        A.one_fault(st.one_of(A.bad_http_read, A.on("submit", st.just(A.GZIP_SUBMIT))), {}),
        A.only("result", A.REDIRECT_LOOP),
    ),
    "key_echo": Family(
        A.one_fault(A.on("result", A.key_echo), {}), A.only("result", A.FAILED_ECHO)
    ),
    "submit_429_huge": Family(
        A.one_fault(A.on("submit", A.submit_429_huge), A.READ_SAFE),
        A.only("submit", A.with_retry_after(429, "99999", b"{}")),
        ONE_IMAGE,  # generate_many: see test_batch_submit_429_long_retry_after_is_bounded
        examples=10,
    ),
}


def _params():
    for name, family in FAMILIES.items():
        for target in family.targets:
            yield pytest.param(name, target, id=f"{name}-{target}")


@pytest.mark.parametrize(("family", "target"), list(_params()))
def test_fault_family_keeps_every_invariant(
    family: str, target: str, servers: Servers, caplog: pytest.LogCaptureFixture
) -> None:
    spec = FAMILIES[family]

    # The family's known example runs first (hypothesis' explicit phase): deterministic,
    # and quick to fail while the fault is there; then hypothesis explores the family.
    @settings(HOSTILE, max_examples=spec.examples)
    @given(scripts=spec.strategy)
    @example(scripts=spec.example)
    def explore(scripts: dict) -> None:
        check(target, scripts, servers, caplog, TIMEOUT if A.floods(scripts) else spec.timeout)

    explore()
