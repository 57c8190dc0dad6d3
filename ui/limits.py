"""Limits on what one visitor can do: password guesses, and bytes uploaded per session.

``LoginGuard`` is the ``auth=`` callable given to Gradio: after a few wrong passwords for
one user name, every attempt for that name is refused (without checking it) for a while,
and the wait doubles with each further failure. ``UploadAllowance`` counts the bytes each
session (a logged-in user, else one browser page or ``gradio_client.Client``) has had
saved, against a total.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0


class LoginGuard:
    """Check ``(user, password)`` against the configured logins, slowing down guessing.

    >>> guard = LoginGuard([("ann", "s3cret")], free_tries=2)
    >>> [guard("ann", "a"), guard("ann", "b"), guard("ann", "s3cret")]   # locked after two failures
    [False, False, False]
    """

    def __init__(
        self,
        logins: Sequence[tuple[str, str]],
        *,
        free_tries: int = 5,
        first_wait: float = 1.0,
        max_wait: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        max_names: int = 10_000,
    ) -> None:
        if not logins:
            raise ValueError("LoginGuard needs at least one user:password login")
        self._logins = [(u.encode("utf-8"), p.encode("utf-8")) for u, p in logins]
        self.free_tries = free_tries
        self.first_wait = first_wait
        self.max_wait = max_wait
        self._clock = clock
        self._max_names = max_names
        self._failures: OrderedDict[str, _Failures] = OrderedDict()
        self._lock = threading.Lock()

    def _matches(self, username: str, password: str) -> bool:
        user, pw = username.encode("utf-8", "surrogatepass"), password.encode("utf-8", "surrogatepass")
        found = False
        for u, p in self._logins:  # compare with every login, in constant time per comparison
            found |= hmac.compare_digest(u, user) & hmac.compare_digest(p, pw)
        return found

    def wait_left(self, username: str) -> float:
        """Seconds until ``username`` may try again (0 when it may now)."""
        with self._lock:
            state = self._failures.get(username)
            return max(0.0, state.locked_until - self._clock()) if state else 0.0

    def __call__(self, username: str, password: str) -> bool:
        with self._lock:  # one attempt at a time, so parallel guesses are counted too
            now = self._clock()
            state = self._failures.get(username)
            if state is not None and now < state.locked_until:
                return False
            if self._matches(username, password):
                self._failures.pop(username, None)
                return True
            state = state or _Failures()
            state.count += 1
            if state.count >= self.free_tries:
                wait = self.first_wait * 2 ** (state.count - self.free_tries)
                state.locked_until = now + min(self.max_wait, wait)
            self._failures[username] = state
            self._failures.move_to_end(username)
            while len(self._failures) > self._max_names:
                self._failures.popitem(last=False)  # forget the oldest names, not the newest guesses
            return False


class _Account:
    """One session's running upload total while it holds its turn."""

    def __init__(self, allowance: UploadAllowance, key: str) -> None:
        self._allowance = allowance
        self._key = key

    @property
    def left(self) -> int:
        return max(0, self._allowance.total - self._allowance.spent(self._key))

    def spend(self, n: int) -> None:
        self._allowance.add(self._key, n)


class UploadAllowance:
    """Bytes each session may have saved, in all.

    >>> allowance = UploadAllowance(1000)
    >>> with allowance.account("session-1") as account:
    ...     account.spend(600)
    >>> with allowance.account("session-1") as account:
    ...     account.left
    400
    """

    def __init__(self, total: int) -> None:
        if total <= 0:
            raise ValueError(f"the upload allowance ({total} bytes) must be positive")
        self.total = total
        self._spent: dict[str, int] = {}
        self._turns: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def spent(self, key: str) -> int:
        with self._lock:
            return self._spent.get(key, 0)

    def add(self, key: str, n: int) -> None:
        with self._lock:
            self._spent[key] = self._spent.get(key, 0) + n

    @contextmanager
    def account(self, key: str) -> Iterator[_Account]:
        """The session's account; its uploads take turns, so two at once cannot both spend the rest."""
        with self._lock:
            turn = self._turns.setdefault(key, threading.Lock())
        with turn:
            yield _Account(self, key)
