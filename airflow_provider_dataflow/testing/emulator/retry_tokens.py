"""``opc-retry-token``: a create repeated with the same token within 24 hours returns what the first one created.

The SDK's ``create_run`` and ``create_application`` docstrings: "Retry tokens expire after 24 hours"; the
SDK adds a token itself when it retries a create.
"""

from __future__ import annotations

RETRY_TOKEN_TTL_SECONDS = 24 * 3600


class RetryTokens:
    """Token -> the id of the resource it created. Not locked: its store calls it under the store's lock."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[str, float]] = {}

    def created_by(self, token: str | None, now: float) -> str | None:
        """The id the token created within the last 24 hours, if any."""
        entry = self._entries.get(token) if token else None
        if entry is None or entry[1] <= now:
            return None
        return entry[0]

    def remember(self, token: str | None, resource_id: str, now: float) -> None:
        if token:
            self._entries[token] = (resource_id, now + RETRY_TOKEN_TTL_SECONDS)

    def clear(self) -> None:
        self._entries.clear()
