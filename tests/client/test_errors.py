"""Errors, retries and timeouts: what the clients do when the server misbehaves."""

from __future__ import annotations

import pytest

from klein_widget import (
    APIStatusError,
    AsyncKleinClient,
    AuthenticationError,
    GenerationFailedError,
    GenerationTimeoutError,
    KleinClient,
    RateLimitError,
)
from klein_widget.client._run import Progress
from klein_widget.emulator import Emulator, create_app
from tests.client.conftest import Both, MakeClient
from tests.conftest import FAKE_KEY

SUBMIT = "/api/v3/wavespeed-ai/flux-2-klein-4b/text-to-image"
RESULT = "/api/v3/predictions/*/result"


def _says_how_to_set_a_key(error: AuthenticationError) -> None:
    message = str(error)
    assert "nothing was sent" in message
    assert "WAVESPEED_API_KEY" in message
    assert "set_api_key()" in message
    assert "emulator" in message


# No server is reachable here: a request would fail with APIConnectionError instead.


def test_missing_key_for_wavespeed_is_refused_before_sending() -> None:
    client = KleinClient(None, "https://api.wavespeed.ai")
    assert client.key_missing
    with pytest.raises(AuthenticationError) as caught:
        client.generate("a fox")
    _says_how_to_set_a_key(caught.value)


async def test_missing_key_for_wavespeed_is_refused_before_sending_async() -> None:
    client = AsyncKleinClient(None, "https://api.wavespeed.ai")
    assert client.key_missing
    with pytest.raises(AuthenticationError) as caught:
        await client.generate("a fox")
    _says_how_to_set_a_key(caught.value)


async def test_missing_key_for_a_server_that_wants_one_says_how_to_set_it(
    make_client: MakeClient,
) -> None:
    guarded = create_app(inference_time=0.01, api_key=FAKE_KEY)
    klein = make_client(api_key=None, app=guarded)
    assert not klein.client.key_missing  # a local server may not need one: ask it
    with pytest.raises(AuthenticationError) as caught:
        await klein("generate", "a fox")

    message = str(caught.value)
    assert "none is set" in message
    assert "WAVESPEED_API_KEY" in message
    assert guarded.state.emulator.accepted == 0


async def test_wrong_key_is_an_authentication_error(make_client: MakeClient) -> None:
    app = create_app(inference_time=0.02, api_key="the-right-key")
    klein = make_client(api_key=FAKE_KEY, app=app)

    with pytest.raises(AuthenticationError, match="rejected the API key") as caught:
        await klein("generate", "a fox", width=256, height=256, seed=1)

    assert caught.value.status_code == 401
    assert FAKE_KEY not in str(caught.value)
    assert klein.client.spend.images == 0  # refused, so not billed


async def test_failed_task_raises_with_reason_and_prediction(
    klein: Both, emulator: Emulator
) -> None:
    emulator.script("task", "fail")
    with pytest.raises(GenerationFailedError) as caught:
        await klein("generate", "a fox", width=256, height=256, seed=1)

    error = caught.value
    assert error.prediction.status == "failed"
    assert error.prediction.error
    assert error.prediction.error in str(error)
    assert error.task_id == error.prediction.id
    # WaveSpeed refunds failed tasks (within 3 hours): not an image, not spent.
    assert klein.client.spend.images == 0
    assert klein.client.spend.refunded == 1


async def test_result_5xx_is_retried_with_backoff(klein: Both, emulator: Emulator) -> None:
    emulator.script("result", 503, 502, 500)
    gen = await klein("generate", "a fox", width=256, height=256, seed=1)

    assert gen.image
    assert emulator.count("GET", RESULT, status=503) == 1
    assert emulator.count("GET", RESULT, status=502) == 1  # an HTML gateway page
    assert emulator.count("GET", RESULT, status=500) == 1
    backoffs = [s for s in klein.sleeps if s >= 0.0005]
    assert len(backoffs) >= 3


async def test_result_errors_give_up_after_max_attempts(
    make_client: MakeClient, emulator: Emulator
) -> None:
    from klein_widget import RetryPolicy

    klein = make_client(retry=RetryPolicy(max_attempts=3, base_delay=0.001))
    emulator.script("result", 503, 503, 503, 503)

    with pytest.raises(APIStatusError) as caught:
        await klein("generate", "a fox", width=256, height=256, seed=1)

    assert caught.value.status_code == 503
    assert caught.value.task_id  # the task is known, so it can be fetched later
    assert caught.value.maybe_accepted
    assert emulator.count("GET", RESULT) == 3


async def test_image_download_errors_are_retried(
    make_client: MakeClient, emulator: Emulator
) -> None:
    klein = make_client(inline_images=False)  # images as URLs: downloaded after the poll
    emulator.script("image", 503, 502)
    gen = await klein("generate", "a fox", width=256, height=256, seed=1)
    assert gen.format == "png"
    assert emulator.count("GET", "/emulator/images/*", status=503) == 1


async def test_rate_limited_submit_is_retried_after_retry_after(
    klein: Both, emulator: Emulator
) -> None:
    emulator.script("submit", 429)
    gen = await klein("generate", "a fox", width=256, height=256, seed=1)

    assert gen.image
    assert emulator.count("POST", SUBMIT, status=429) == 1
    assert emulator.count("POST", SUBMIT, status=200) == 1
    assert klein.sleeps[0] >= 1.0  # the server's Retry-After, not our tiny backoff
    assert klein.client.spend.images == 1  # the refused attempt was not counted


async def test_waiting_out_a_rate_limit_is_reported_as_progress(
    klein: Both, emulator: Emulator
) -> None:
    emulator.script("submit", 429)
    stages: list[str] = []
    notes: list[str] = []

    def heard(progress: Progress) -> None:
        stages.append(progress.stage)
        notes.append(progress.note)

    await klein("generate", "a fox", width=256, height=256, seed=1, on_progress=heard)
    assert stages[:2] == ["submitting", "rate_limited"]
    assert set(stages[1 : stages.index("submitted")]) == {"rate_limited"}
    assert stages.index("submitted") < stages.index("done")
    assert notes[1].startswith("rate limit")  # the status line says why it waits


async def test_rate_limit_that_persists_raises_rate_limit_error(
    make_client: MakeClient, emulator: Emulator
) -> None:
    from klein_widget import RetryPolicy

    klein = make_client(retry=RetryPolicy(max_attempts=2, base_delay=0.001))
    emulator.script("submit", 429, 429)

    with pytest.raises(RateLimitError) as caught:
        await klein("generate", "a fox", width=256, height=256, seed=1)

    assert caught.value.retry_after is not None
    assert "every minute" in str(caught.value)
    assert klein.client.spend.images == 0


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_submit_5xx_is_never_retried(klein: Both, emulator: Emulator, status: int) -> None:
    emulator.script("submit", status)
    with pytest.raises(APIStatusError) as caught:
        await klein("generate", "a fox", width=256, height=256, seed=1)

    assert emulator.count("POST", SUBMIT) == 1
    assert caught.value.maybe_accepted is True
    # It may have been billed: the budget counts it until proven otherwise.
    assert klein.client.spend.images == 1


async def test_submit_400_is_not_retried_and_not_billed(klein: Both, emulator: Emulator) -> None:
    emulator.script("submit", 400)
    with pytest.raises(APIStatusError) as caught:
        await klein("generate", "a fox", width=256, height=256, seed=1)

    assert caught.value.status_code == 400
    assert not caught.value.maybe_accepted
    assert emulator.count("POST", SUBMIT) == 1
    assert klein.client.spend.images == 0


async def test_timeout_raises_with_task_id_and_task_can_be_fetched_later(
    klein: Both, emulator: Emulator
) -> None:
    emulator.inference_time = 0.5
    with pytest.raises(GenerationTimeoutError) as caught:
        await klein("generate", "a fox", width=256, height=256, seed=1, timeout=0.1)

    task_id = caught.value.task_id
    assert task_id
    assert task_id in str(caught.value)
    assert isinstance(caught.value, TimeoutError)

    gen = await klein("fetch", task_id, timeout=10)
    assert gen.seed == 1
    assert emulator.count("POST", SUBMIT) == 1


async def test_sync_timeout_with_task_id_continues_by_polling(
    klein: Both, emulator: Emulator
) -> None:
    emulator.script("sync", "body")
    gen = await klein("generate", "a fox", width=256, height=256, seed=4, sync_mode=True)

    assert gen.image
    assert emulator.count("POST", SUBMIT) == 1
    assert emulator.count("GET", RESULT) >= 1


async def test_sync_gateway_timeout_without_task_id_is_a_clear_error(
    klein: Both, emulator: Emulator
) -> None:
    emulator.script("sync", "gateway")
    with pytest.raises(APIStatusError, match="sync_mode=False") as caught:
        await klein("generate", "a fox", width=256, height=256, seed=4, sync_mode=True)

    assert caught.value.maybe_accepted
    assert emulator.count("POST", SUBMIT) == 1


async def test_unknown_task_is_a_404_without_retries(klein: Both, emulator: Emulator) -> None:
    with pytest.raises(APIStatusError) as caught:
        await klein("get_result", "no-such-task")
    assert caught.value.status_code == 404
    assert emulator.count("GET", "/api/v3/predictions/no-such-task/result") == 1


async def test_retry_and_poll_decisions_are_logged_quietly(
    klein: Both, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.configure(inference_time=0.2)  # a poll or more finds it still running
    emulator.script("result", 503)
    with caplog.at_level("DEBUG", logger="klein_widget.client"):
        gen = await klein("generate", "a fox", width=256, height=256, seed=3)

    records = [r for r in caplog.records if r.name == "klein_widget.client._base"]
    retries = [r.getMessage() for r in records if r.levelname == "INFO"]
    assert len(retries) == 1
    assert retries[0].startswith("retrying the request in ")
    assert "503" in retries[0]
    assert all(r.levelno < 30 for r in records)  # nothing reaches a default (WARNING) handler
    assert gen.prediction.id in " ".join(r.getMessage() for r in records if "poll" in r.msg)
    assert FAKE_KEY not in caplog.text


async def test_a_submit_with_less_time_left_than_its_round_trip_is_not_sent(
    klein: Both, emulator: Emulator
) -> None:
    """A submit that cannot be answered before the call's deadline is not sent: it would
    be billed with its task id lost. The client knows the round trip from earlier answers."""
    emulator.network_delay = 0.3  # each answer comes 0.3 s after its request
    await klein("generate", "a fox", width=256, height=256, seed=1, timeout=10)
    assert emulator.count("POST", SUBMIT) == 1

    with pytest.raises(GenerationTimeoutError, match="nothing was sent or billed") as caught:
        await klein("generate", "a fox", width=256, height=256, seed=2, timeout=0.2)

    assert not caught.value.maybe_accepted
    assert caught.value.task_id is None
    assert emulator.count("POST", SUBMIT) == 1  # the second was never sent
    assert klein.client.spend.images == 1
