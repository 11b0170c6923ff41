"""An output URL is downloaded only over http(s): a completed task whose output is an
``ftp:``, ``file:`` or other URL is refused with an error that names the task and the URL
(not taken for broken base64), and nothing is fetched or saved."""

from __future__ import annotations

import pytest

from klein_widget import KleinError
from tests.hostile import answers as A
from tests.hostile.harness import Servers, run_target

BOTH = ("sync", "async")
NOT_HTTP = (
    "ftp://127.0.0.1/img/%ID%.png",
    "file:///etc/passwd",
    "gopher://127.0.0.1/img/%ID%.png",
    "javascript:alert(1)",
    "https:///no-host.png",
)


@pytest.mark.parametrize("output", NOT_HTTP)
@pytest.mark.parametrize("target", BOTH)
def test_an_output_url_that_is_not_http_is_refused_by_name(
    target: str, output: str, servers: Servers
) -> None:
    poll = A.only("result", A.json_answer(A.envelope(outputs=[output])))

    outcome = run_target(target, servers, poll)

    (task_id,) = servers.api.accepted_ids()
    error = outcome.raised
    assert isinstance(error, KleinError), outcome.describe()
    assert error.task_id == task_id
    assert error.maybe_accepted is True
    assert "is not an http(s) URL" in str(error), str(error)
    scheme = output.split(":", 1)[0]
    assert f"'{scheme}:" in str(error)  # the URL itself is named
    assert outcome.generations == []
    assert outcome.gallery is not None
    saved = [p for p in outcome.gallery.rglob("*") if p.suffix in (".png", ".jpg", ".bin")]
    assert saved == []
