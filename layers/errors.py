"""The one error base class of InnoMap.

Every error that a user can cause (bad file, bad parameter, unknown layer, stale
save …) is an :class:`InnoMapError`. It subclasses :class:`ValueError` (as osmnx's
``ValidationError`` does) so callers that already catch ``ValueError`` keep
working; the CLI and the pages catch ``InnoMapError`` and nothing broader.
Messages are bilingual and say what is wrong, where, and what to do.
"""

from __future__ import annotations

__all__ = ["InnoMapError"]


class InnoMapError(ValueError):
    """A user-facing error: the message names the bad value and the fix."""
