"""Who a request is: a student's class token (or a Hub user's), the teacher's token, and
the limiter that holds back wrong tokens, never a right one.

A right token is looked up first and always let in; a wrong one is counted under what it
claims to be (`token_bucket`), never under the address it came from, so a stale tab or a
guesser behind a school's NAT slows down only itself.

Example:
    >>> student = await authorize(request)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from starlette.requests import Request

from klein_widget.gateway._hub import hub_student
from klein_widget.gateway._rows import Student
from klein_widget.gateway._state import Gateway, gateway_of
from klein_widget.gateway._tokens import same_token, token_bucket, token_hash
from klein_widget.serving._http import Problem, bearer_token

__all__ = ["TEACHER_COOKIE", "authorize", "authorize_and", "is_teacher", "locked_out"]

T = TypeVar("T")
TEACHER_COOKIE = "klein_teacher"  # the dashboard's login, once its ?token= link is opened


def is_teacher(gateway: Gateway, given: str | None) -> bool:
    """Whether ``given`` is the teacher's token (compared by hash, in constant time)."""
    return given is not None and same_token(given, token_hash(gateway.teacher_token))


def locked_out(wait: float, whose: str) -> Problem:
    """The 429 while a wrong token is held back; ``whose`` names the token to try again with."""
    return Problem(
        429,
        f"Too many tries of this wrong token: try again in {wait:g} s, with {whose}.",
        headers={"Retry-After": str(int(wait))},
    )


async def authorize(request: Request) -> Student:
    """The student whose token the request carries, or a 401 / 429 `Problem`. A right
    token is always let in (looked up first); only wrong ones are counted and held back."""
    student, _ = await authorize_and(request, lambda: None)
    return student


async def authorize_and(request: Request, then: Callable[[], T]) -> tuple[Student, T | None]:
    """`authorize`, and ``then()`` in the same trip to the database thread (one hop per
    request, not one per lookup: each hop is latency on a kept-alive connection);
    ``then`` runs only for a right token."""
    gateway = gateway_of(request)
    gateway.ensure_started()
    hub = await gateway.run(hub_student, request)  # a Hub user's request (gateway/_hub.py)
    if hub is not None:
        return hub, await gateway.run(then)
    token = bearer_token(request)
    if token is None:
        raise Problem(
            401,
            "No class token was sent: set WAVESPEED_API_KEY to the token your teacher gave "
            "you (ask your teacher if you have none).",
        )

    def lookup() -> tuple[Student | None, T | None]:
        found = gateway.db.student_by_token(token)
        return found, then() if found is not None and not found.revoked else None

    student, extra = await gateway.run(lookup)
    if student is None:
        bucket = token_bucket(token)
        wait = gateway.logins.wait(bucket)
        if wait:
            raise locked_out(wait, "the token your teacher gave you")
        gateway.logins.failed(bucket)
        raise Problem(
            401, "This token is not one of this class's: ask your teacher for your token."
        )
    if student.revoked:
        raise Problem(401, "Your token was turned off by your teacher: ask your teacher.")
    return student, extra
