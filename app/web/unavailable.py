"""The one error a shared service (Redis, PostgreSQL) raises when it cannot be reached.

Stores that talk to another machine turn their driver's connection errors and timeouts into
:class:`Unavailable`; the app answers it as ``503`` with ``Retry-After``
(:func:`app.web.api.errors.unavailable_handler`), never as a 500 and never after a hang.
"""

from __future__ import annotations

RETRY_SECONDS = 5


class Unavailable(Exception):
    """``what`` (a phrase: "the quiz database") cannot be reached just now."""

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what
