"""Which defined tags exist: any by default, or only the namespaces and keys a test declares.

"Defined tags must be set up in your tenancy before you can apply them to resources" (the SDK's identity
``Tag`` model); a create or update naming others is refused with 400 RelatedResourceNotAuthorizedOrNotFound
"The following tag namespaces / keys are not authorized or not found", as OCI services answer. Namespace
and key names are case-insensitive (the Identity API's CreateTagNamespace and CreateTag). The emulator
cannot know a tenancy's tags, so it accepts every tag until a test declares them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_dataflow.testing.emulator.errors import related_resource_not_found

DECLARE_HINT = (
    "In the emulator, declare your tenancy's defined tags with "
    "dataflow_emulator.set_tag_namespaces({namespace: [keys]}) (or DataflowEmulator(tag_namespaces=...))."
)


class TagNamespaces:
    def __init__(self, namespaces: Mapping[str, Iterable[str]] | None = None) -> None:
        self._lock = threading.Lock()
        self._declared = _normalise(namespaces)

    @property
    def declared(self) -> dict[str, list[str]] | None:
        """Namespace -> its keys, as declared (lower-cased); None: every tag exists."""
        with self._lock:
            declared = self._declared
        return None if declared is None else {name: sorted(keys) for name, keys in declared.items()}

    def set(self, namespaces: Mapping[str, Iterable[str]] | None) -> None:
        with self._lock:
            self._declared = _normalise(namespaces)

    def check(self, field: str, defined_tags: Mapping[str, Any] | None) -> None:
        """Raise the service's 400 for defined tags whose namespace or key was not declared."""
        with self._lock:
            declared = self._declared
        if declared is None or not defined_tags:
            return
        unknown: list[str] = []
        for namespace, tags in defined_tags.items():
            keys = declared.get(namespace.lower())
            if keys is None:
                unknown.append(f"'{namespace}'")
            else:
                unknown.extend(f"'{namespace}.{key}'" for key in tags or {} if key.lower() not in keys)
        if unknown:
            listed = ", ".join(unknown)
            raise related_resource_not_found(
                f"{field}: The following tag namespaces / keys are not authorized or not found: {listed}. "
                + DECLARE_HINT
            )


def _normalise(namespaces: Mapping[str, Iterable[str]] | None) -> dict[str, frozenset[str]] | None:
    if namespaces is None:
        return None
    if not isinstance(namespaces, Mapping):
        raise ValueError(f"tag namespaces must map a namespace to its keys, got {namespaces!r}")
    normalised = {}
    for name, keys in namespaces.items():
        if not isinstance(name, str) or isinstance(keys, str) or not all(isinstance(key, str) for key in keys):
            raise ValueError(f"tag namespace {name!r} must map to a list of key names, got {keys!r}")
        normalised[name.lower()] = frozenset(key.lower() for key in keys)
    return normalised
