"""Running calls at once in threads for the PostgreSQL race tests (tests/*/test_*race*.py)."""

import random
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections


def outcome_label(outcome: object) -> str:
    """
    An outcome of ``race`` as a label: "invalid:<messages>" for a
    ``ValidationError``, "EXCEPTION <type>: <text>" for any other exception
    (never a documented outcome), "ok" for a returned value.
    """
    if isinstance(outcome, ValidationError):
        return "invalid:" + " ".join(outcome.messages)
    if isinstance(outcome, BaseException):
        return f"EXCEPTION {type(outcome).__module__}.{type(outcome).__name__}: {outcome}"
    return "ok"


def race(*calls: Callable[[], Any], jitter: float = 0.0, timeout: float = 90) -> list[object]:
    """
    Run ``calls`` in threads released together by a ``threading.Barrier`` and
    return what each returned or raised, in order. Each thread closes its
    database connections at the end. With ``jitter``, one thread picked at
    random starts up to that many seconds later, so that both orders occur.
    """
    barrier = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)
    late = random.randrange(len(calls))
    delay = random.random() * jitter

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            if i == late and delay:
                time.sleep(delay)
            outcomes[i] = calls[i]()
        except BaseException as error:  # judged by the caller: only documented errors may pass
            outcomes[i] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
        assert not thread.is_alive(), "a racing thread hung"
    return outcomes
