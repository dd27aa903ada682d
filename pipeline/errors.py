"""User-facing errors.

Every error a user can cause (bad input file, bad parameter) is raised as a
:class:`UserError` whose message is one line naming the file, row or key. The CLI
prints ``error: <message>`` and exits with :data:`EXIT_USER_ERROR`.
"""

from __future__ import annotations

EXIT_USER_ERROR = 2


class UserError(Exception):
    """A problem with the user's input or parameters (exit code 2, one-line message)."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))
