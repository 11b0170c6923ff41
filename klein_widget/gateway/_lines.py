"""`Lines`: the gateway's queue in memory, one line of task ids per student, served
round-robin, so one student's 64-image grid does not starve the class.

Example:
    >>> lines = Lines()
    >>> lines.push("ada", "a1"); lines.push("ada", "a2"); lines.push("bo", "b1")
    >>> [lines.take(), lines.take(), lines.take()]
    ['a1', 'b1', 'a2']
"""

from __future__ import annotations

from collections import OrderedDict, deque

__all__ = ["Lines"]


class Lines:
    """Per-student lines of queued task ids; `take` serves them in turn."""

    def __init__(self) -> None:
        self._lines: OrderedDict[str, deque[str]] = OrderedDict()

    def push(self, student: str, task_id: str) -> None:
        """At the end of the student's line."""
        self._lines.setdefault(student, deque()).append(task_id)

    def push_front(self, student: str, task_id: str) -> None:
        """Back at the head of the student's line, whose turn comes first (a task upstream
        refused with a 429 keeps its place)."""
        self._lines.setdefault(student, deque()).appendleft(task_id)
        self._lines.move_to_end(student, last=False)

    def take(self) -> str | None:
        """The next task id, round-robin: take from the first line, move it to the back."""
        while self._lines:
            student, line = next(iter(self._lines.items()))
            self._lines.move_to_end(student)
            if line:
                task_id = line.popleft()
                if not line:
                    del self._lines[student]
                return task_id
            del self._lines[student]
        return None

    def ahead(self, task_id: str, student: str) -> int | None:
        """How many queued tasks go before this one (None: not queued).

        Before the k-th task of its student go that student's k-1 and, from every other
        line, at most k (k-1 for lines served after it this round).
        """
        line = self._lines.get(student)
        if line is None or task_id not in line:
            return None
        k = line.index(task_id)
        ahead = k
        names = list(self._lines)
        mine = names.index(student)
        for i, name in enumerate(names):
            if name != student:
                ahead += min(len(self._lines[name]), k + (1 if i < mine else 0))
        return ahead

    def __len__(self) -> int:
        return sum(len(line) for line in self._lines.values())

    def __bool__(self) -> bool:
        return bool(self._lines)
