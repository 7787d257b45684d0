"""RFC 3339 timestamps in the service's format (UTC, millisecond precision, ``Z`` suffix)."""

from __future__ import annotations

from datetime import datetime, timezone


def rfc3339(epoch_seconds: float) -> str:
    moment = datetime.fromtimestamp(epoch_seconds, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_rfc3339(text: str) -> float:
    """Parse what the SDK sends for datetime query parameters (isoformat, ``Z`` or an offset)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()
