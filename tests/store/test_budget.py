"""max_spend is exact under concurrency: nothing over budget is ever sent."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

import klein_widget
from klein_widget import AsyncKleinClient, BudgetExceededError, Generation, KleinClient
from klein_widget.emulator import Emulator, RunningEmulator
from tests.conftest import FAKE_KEY, TEST_URL, fast_options
from tests.store.conftest import SUBMIT_PATH

SMALL = {"width": 256, "height": 256}


def outcomes(results: list[Any]) -> tuple[int, int]:
    made = sum(isinstance(r, Generation) for r in results)
    refused = sum(isinstance(r, BudgetExceededError) for r in results)
    assert made + refused == len(results), [r for r in results if not isinstance(r, Generation)]
    return made, refused


def test_twenty_threads_against_a_budget_of_five(make_sync: Any, emulator: Emulator) -> None:
    client: KleinClient = make_sync(max_spend=0.04)

    def one(i: int) -> Any:
        try:
            return client.generate(f"fox {i}", seed=i, **SMALL)
        except BudgetExceededError as error:
            return error

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(one, range(20)))

    assert outcomes(results) == (5, 15)
    assert emulator.count("POST", SUBMIT_PATH) == 5
    assert emulator.accepted == 5
    assert client.spend.images == 5
    assert client.spend.mills == 40
    refusal = next(r for r in results if isinstance(r, BudgetExceededError))
    assert "over the budget of $0.040 (max_spend). Nothing was sent." in str(refusal)


async def test_twenty_tasks_against_a_budget_of_five(
    emulator_app: Starlette, emulator: Emulator
) -> None:
    transport = httpx.ASGITransport(app=emulator_app)
    async with httpx.AsyncClient(transport=transport, base_url=TEST_URL) as http:
        client = AsyncKleinClient(FAKE_KEY, TEST_URL, http_client=http, **fast_options())
        client.max_spend = 0.04
        results = await asyncio.gather(
            *(client.generate(f"fox {i}", seed=i, **SMALL) for i in range(20)),
            return_exceptions=True,
        )

    assert outcomes(list(results)) == (5, 15)
    assert emulator.count("POST", SUBMIT_PATH) == 5
    assert client.spend.dollars == 0.04


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_batch_stops_at_the_budget(
    kind: str, client: KleinClient, async_client: AsyncKleinClient, emulator: Emulator
) -> None:
    prompts = [f"heron {i}" for i in range(20)]
    if kind == "sync":
        client.max_spend = 0.04
        result = await asyncio.to_thread(client.generate_many, prompts, seed=1, **SMALL)
    else:
        async_client.max_spend = 0.04
        result = await async_client.generate_many(prompts, seed=1, **SMALL)

    assert len(result.generations) == 5
    assert len(result.errors) == 15
    assert all(isinstance(e, BudgetExceededError) for _, e in result.errors)
    assert emulator.count("POST", SUBMIT_PATH) == 5


async def test_the_session_budget_is_shared_by_its_clients(
    live_emulator: RunningEmulator,
) -> None:
    session = klein_widget.session()
    session.configure(base_url=live_emulator.base_url, api_key=FAKE_KEY, **fast_options())
    session.ledger.max_spend = 0.04  # a classroom cap for the panel and %klein together
    submits = live_emulator.emulator.count("POST", SUBMIT_PATH)
    sync_client, async_client = session.client(), session.async_client()

    def blocking(i: int) -> Any:
        try:
            return sync_client.generate(f"shared {i}", seed=i, **SMALL)
        except BudgetExceededError as error:
            return error

    results = await asyncio.gather(
        *(asyncio.to_thread(blocking, i) for i in range(10)),
        *(async_client.generate(f"shared {i}", seed=100 + i, **SMALL) for i in range(10)),
        return_exceptions=True,
    )
    await async_client.aclose()

    assert outcomes(list(results)) == (5, 15)
    assert live_emulator.emulator.count("POST", SUBMIT_PATH) == submits + 5
    assert session.spend.images == 5
    assert len(session.history) == 5


def test_raising_the_budget_lets_work_continue(make_sync: Any, emulator: Emulator) -> None:
    client: KleinClient = make_sync(max_spend=0.008)
    client.generate("one", seed=1, **SMALL)
    with pytest.raises(BudgetExceededError):
        client.generate("two", seed=2, **SMALL)

    client.max_spend = 0.016
    client.generate("two", seed=2, **SMALL)

    assert emulator.count("POST", SUBMIT_PATH) == 2
