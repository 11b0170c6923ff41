"""Hypothesis strategies for the hostile server's answers.

The *safe* strategies draw well-formed trouble (statuses, error bodies, Retry-After forms,
dropped connections, redirects on GETs, odd 2xx pages). Every other strategy is one *fault
family* that broke an invariant in issue 11 (or was found while writing this suite); the
property tests run each family with its known example first, then hypothesis explores it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable

from hypothesis import strategies as st

from tests.hostile.server import (
    BOMB_PNG,
    JPEG,
    PNG,
    PNG_B64,
    PNG_GARBAGE,
    PNG_TRUNCATED,
    RESULT_PATH_TEMPLATE,
    SUBMIT_PATH,
    Answer,
    envelope,
    json_answer,
    nested,
)

RUNNING = ("created", "pending", "queued", "starting", "processing", "warming-up")
FAILED = ("failed", "cancelled", "timeout", "deleted")
RESULT = RESULT_PATH_TEMPLATE
PNG_TYPE = (("Content-Type", "image/png"),)

# --- building blocks --------------------------------------------------------------------------

# Retry-After values a client can honour within a short deadline (or ignore).
retry_after_ok = st.sampled_from(
    [None, "0", "0.01", "soon", "-5", "nan", "Wed, 21 Oct 2015 07:28:00 GMT", "", "1, 2"]
)
# Retry-After values that push the retry past any short deadline.
retry_after_huge = st.sampled_from(
    ["99999", "inf", "1e400", "86400", "Fri, 01 Jan 2100 00:00:00 GMT"]
)
# Bodies seen (or imaginable) on error answers; %AUTH% echoes the key back.
error_bodies = st.sampled_from(
    [
        b'{"message":"bad request","error_code":1}',
        b'{"error":"nope"}',
        b'{"detail":"insufficient balance"}',
        b'{"detail":[{"loc":["body","size"],"msg":"bad"}]}',
        b"<html><body><h1>502 Bad Gateway</h1></body></html>",
        b"",
        b"plain text",
        b'{"code":400,"message":"you sent %AUTH%","data":null}',
        b"null",
        b"[1,2]",
        b"\xff\xfe\x00 not utf-8",
        b'{"message":{"nested":["x",1]}}',
    ]
)


def with_retry_after(status: int, value: str | None, body: bytes) -> Answer:
    headers = (("Retry-After", value),) if value is not None else ()
    return json_answer(body, status, headers=headers)


def running(status: str | int | None) -> Answer:
    return json_answer(envelope(status=status, outputs=[], has_nsfw_contents=[]))


dropped = st.sampled_from(
    [
        Answer(drop="before"),
        Answer(drop="reset"),
        Answer(200, drop="headers"),
        json_answer(envelope(status="created", outputs=[]), drop="body"),
        json_answer(envelope(status="created", outputs=[]), length=5000),  # a lying length
        Answer(raw=b"HELLO\r\n\r\n"),
        Answer(raw=b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n{}"),
    ]
)
odd_2xx = st.sampled_from(
    [
        json_answer(b"<html><body>All good!</body></html>"),
        json_answer(b'{"code":200,"message":"success","data":null}'),
        json_answer(b'{"code":200}'),
        json_answer(b"[]"),
        json_answer(b'"data"'),
        json_answer(envelope(code=5004, message="sync mode timed out")),
        json_answer(b'{"code":500,"message":"internal","data":{"id":"%ID%"}}'),
        json_answer(b'{"code":"200","data":{"status":"created"}}'),
        Answer(204),
        Answer(101),
        Answer(100),
    ]
)


def scripts(
    submit: st.SearchStrategy[Answer] | None = None,
    result: st.SearchStrategy[Answer] | None = None,
    image: st.SearchStrategy[Answer] | None = None,
    *,
    most: int = 2,
) -> st.SearchStrategy[dict[str, tuple[Answer, ...]]]:
    """Up to ``most`` scripted answers per route (then the server's normal answers)."""
    parts = {}
    for route, answers in (("submit", submit), ("result", result), ("image", image)):
        if answers is not None:
            parts[route] = st.lists(answers, max_size=most).map(tuple)
    return st.fixed_dictionaries(parts)


def one_fault(
    fault: st.SearchStrategy[tuple[str, Answer]], safe: dict[str, st.SearchStrategy[Answer]]
) -> st.SearchStrategy[dict[str, tuple[Answer, ...]]]:
    """Safe scripts with one fault answer put first on its route."""

    def build(pair: tuple[str, Answer], rest: dict[str, tuple[Answer, ...]]) -> dict:
        route, answer = pair
        merged = dict(rest)
        merged[route] = (answer, *merged.get(route, ()))
        return merged

    return st.builds(build, fault, scripts(**safe, most=1))


def on(route: str, answers: st.SearchStrategy[Answer]) -> st.SearchStrategy[tuple[str, Answer]]:
    return answers.map(lambda a: (route, a))


# --- the safe answer space: well-formed trouble --------------------------------------------

submit_safe = st.one_of(
    st.sampled_from(RUNNING).map(running),
    st.just(json_answer(envelope())),  # completed at once
    st.sampled_from(FAILED).map(
        lambda s: json_answer(envelope(status=s, outputs=[], error="the model refused"))
    ),
    st.builds(json_answer, error_bodies, st.sampled_from([400, 401, 402, 403, 404, 409, 413, 422])),
    st.builds(with_retry_after, st.just(429), retry_after_ok, error_bodies),
    st.builds(json_answer, error_bodies, st.sampled_from([500, 502, 503, 504, 520])),
    odd_2xx,
    dropped,
    st.just(json_answer(envelope(status="created", outputs=[]), delay=0.2)),
    # 303 turns the POST into a GET: nothing is submitted twice.
    st.just(Answer(303, headers=(("Location", "%BASE%" + SUBMIT_PATH),))),
)

result_safe = st.one_of(
    st.sampled_from([*RUNNING, "", None, 7]).map(running),
    st.sampled_from(
        [
            json_answer(envelope()),
            json_answer(envelope(outputs=[PNG_B64])),
            json_answer(envelope(outputs=["data:image/png;base64," + PNG_B64])),
            json_answer(envelope(outputs=["%IMG%/img/%ID%.png", "%IMG%/img/other.png"])),
            json_answer(envelope(outputs=[], status="completed")),  # no outputs: an error
            json_answer(envelope(has_nsfw_contents=[True], timings={"inference": "x"})),
        ]
    ),
    st.sampled_from(FAILED).map(
        lambda s: json_answer(envelope(status=s, outputs=[], error="the model refused"))
    ),
    st.builds(
        json_answer, error_bodies, st.sampled_from([400, 404, 408, 409, 410, 422, 425, 500, 503])
    ),
    st.builds(with_retry_after, st.just(429), retry_after_ok, error_bodies),
    odd_2xx,
    dropped,
    st.sampled_from([301, 302, 303, 307, 308]).flatmap(
        lambda code: st.sampled_from(
            [
                Answer(code, headers=(("Location", "%BASE%" + RESULT),)),
                Answer(code, headers=(("Location", "%OTHER%" + RESULT),)),  # key not sent there
                Answer(code, headers=(("Location", "http://[::1"),)),
            ]
        )
    ),
)

image_safe = st.one_of(
    st.sampled_from(
        [
            Answer(headers=PNG_TYPE, body=PNG),
            Answer(headers=(("Content-Type", "image/jpeg"),), body=JPEG),
            Answer(headers=(("Content-Type", "text/html"),), body=PNG),
            Answer(headers=PNG_TYPE, body=PNG, chunked=True),
            Answer(headers=PNG_TYPE, body=PNG, pad=2**20),  # trailing bytes after IEND
            Answer(headers=PNG_TYPE, body=PNG, delay=0.2),
        ]
    ),
    st.builds(
        Answer,
        st.sampled_from([200, 404, 410, 500, 502, 503]),
        st.just((("Content-Type", "text/html"),)),
        error_bodies,
    ),
    st.builds(with_retry_after, st.just(429), retry_after_ok, error_bodies),
    dropped,
    st.sampled_from([302, 307]).flatmap(
        lambda code: st.sampled_from(
            [
                Answer(code, headers=(("Location", "%IMG%/img/%ID%.png"),)),
                Answer(code, headers=(("Location", "%OTHER%/img/%ID%.png"),)),
            ]
        )
    ),
)

SAFE = {"submit": submit_safe, "result": result_safe, "image": image_safe}
READ_SAFE = {"result": result_safe, "image": image_safe}
safe_scripts = scripts(**SAFE)

# --- fault families (each broke an invariant in issue 11) ------------------------------------

_wrong_fields = st.sampled_from(
    [
        {"outputs": 7},
        {"outputs": 7.5},
        {"outputs": True},
        {"urls": ["x"]},
        {"urls": "x"},
        {"urls": 7},
        {"has_nsfw_contents": 7},
        {"has_nsfw_contents": True},
    ]
)


def _utf16_null() -> bytes:
    return json.dumps({"code": 200, "message": "success", "data": None}).encode("utf-16")


wrong_shape = st.one_of(
    _wrong_fields.map(lambda fields: json_answer(envelope(**fields))),
    st.sampled_from([5000, 100_000]).map(lambda depth: json_answer(nested(depth))),
    st.just(json_answer(_utf16_null())),
)
WRONG_SHAPE_SUBMIT = json_answer(envelope(outputs=7))
WRONG_SHAPE_POLL = json_answer(envelope(urls=["x"]))

poll_refusal = st.one_of(
    st.builds(json_answer, error_bodies, st.sampled_from([401, 403])),
    st.builds(with_retry_after, st.just(429), retry_after_huge, error_bodies),
    st.sampled_from([Answer(drop="before", repeat=7), Answer(drop="reset", repeat=7)]),
    st.builds(lambda body: json_answer(body, 503, repeat=7), error_bodies),  # retries used up
)
POLL_429 = with_retry_after(429, "99999", b'{"message":"slow down"}')


def _completed_with(output: str) -> Answer:
    return json_answer(envelope(outputs=[output]))


bad_output = st.sampled_from(
    [
        "/img/%ID%.png",
        "img/%ID%.png",
        "file:///etc/passwd",
        "ftp://127.0.0.1/x.png",
        "!!!notbase64!!!",
        "hello world",
        "data:image/png;base64,!!!",
    ]
).map(_completed_with)
download_refusal = st.one_of(
    st.builds(Answer, st.sampled_from([401, 403]), st.just(()), error_bodies),
    st.builds(with_retry_after, st.just(429), retry_after_huge, error_bodies),
    st.sampled_from([Answer(drop="before", repeat=7), Answer(drop="reset", repeat=7)]),
)
RELATIVE_OUTPUT = _completed_with("/img/%ID%.png")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


bogus_output = st.sampled_from(["abcd", "AAAA", _b64(b"GIF89a\x01\x00"), _b64(PNG_GARBAGE)]).map(
    _completed_with
)
bogus_image = st.sampled_from(
    [
        PNG_GARBAGE,
        BOMB_PNG,
        PNG_TRUNCATED,
        b"\xff\xd8\xff\xe0 not really a jpeg",
        b"RIFF\x10\x00\x00\x00WEBPVP8 junk",
    ]
).map(lambda body: Answer(headers=PNG_TYPE, body=body))
BOGUS_IMAGE = Answer(headers=PNG_TYPE, body=PNG_GARBAGE)


def slow(body: bytes) -> st.SearchStrategy[Answer]:
    """Answers that take longer than any short deadline, or never end."""
    return st.sampled_from(
        [
            Answer(hold=True),
            Answer(body=body, trickle=0.2, headers=(("Content-Type", "application/json"),)),
            Answer(body=body, delay=3.5),
            Answer(body=body[:12], endless=True),
            Answer(body=body, pad=150 * 2**20),
        ]
    )


def floods(scripts: dict[str, tuple[Answer, ...]]) -> bool:
    """Whether a scripted answer floods (a body past every size cap, or endless) rather
    than stalls: the body cap should end it, which takes reading time, not waiting."""
    return any(a.endless or a.pad >= 2**20 for answers in scripts.values() for a in answers)


_ENVELOPE = envelope(status="created", outputs=[])
slow_submit = slow(_ENVELOPE)
slow_read = st.one_of(on("result", slow(envelope())), on("image", slow(PNG)))
ENDLESS_IMAGE = Answer(headers=PNG_TYPE, body=PNG[:8], endless=True)
ENDLESS_SUBMIT = Answer(body=_ENVELOPE[:12], endless=True)

submit_redirect = st.sampled_from([307, 308]).flatmap(
    lambda code: st.sampled_from(
        [
            Answer(code, headers=(("Location", "%BASE%" + SUBMIT_PATH),)),
            Answer(code, headers=(("Location", "%OTHER%" + SUBMIT_PATH),)),
        ]
    )
)
SUBMIT_307_OTHER = Answer(307, headers=(("Location", "%OTHER%" + SUBMIT_PATH),))

_GZIP = (("Content-Encoding", "gzip"), ("Content-Type", "application/json"))
bad_http_read = st.one_of(
    on("result", st.just(Answer(302, headers=(("Location", "%BASE%" + RESULT),), repeat=25))),
    on("image", st.just(Answer(302, headers=(("Location", "%IMG%/img/%ID%.png"),), repeat=25))),
    on("result", st.just(Answer(headers=_GZIP, body=b"not gzip"))),
    on("image", st.just(Answer(headers=_GZIP, body=b"not gzip"))),
)
REDIRECT_LOOP = Answer(302, headers=(("Location", "%BASE%" + RESULT),), repeat=50)
GZIP_SUBMIT = Answer(headers=_GZIP, body=b"not gzip")

key_echo = st.sampled_from(FAILED).map(
    lambda s: json_answer(envelope(status=s, outputs=[], error="refused for %AUTH%"))
)
FAILED_ECHO = json_answer(envelope(status="failed", outputs=[], error="refused for %AUTH%"))


def only(route: str, *answers: Answer) -> dict[str, tuple[Answer, ...]]:
    """A script with just these answers on one route."""
    return {route: tuple(answers)}


def routes(pairs: Iterable[tuple[str, Answer]]) -> dict[str, tuple[Answer, ...]]:
    merged: dict[str, tuple[Answer, ...]] = {}
    for route, answer in pairs:
        merged[route] = (*merged.get(route, ()), answer)
    return merged


submit_429_huge = st.builds(with_retry_after, st.just(429), retry_after_huge, error_bodies)
# Retry-After past a short deadline, yet short enough that a batch that wrongly sleeps it out
# and resubmits still finishes the example in seconds rather than a day.
SUBMIT_429_LONG = with_retry_after(429, "3", b'{"message":"slow down"}')
POLL_429_LONG = with_retry_after(429, "2", b'{"message":"slow down"}')
