"""Turn an ``oci_dataflow`` connection into the oci SDK's config and signer.

Parsing (``ConnectionSettings.from_connection``) does no I/O so it is safe on the event loop;
``build_config_and_signer`` may read files or call metadata endpoints and must run in a thread.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_dataflow.exceptions import DataflowInvalidInputError
from airflow_provider_dataflow.hooks.auth_type import AuthType
from airflow_provider_dataflow.hooks.principals import advice, principal_signer

if TYPE_CHECKING:
    from airflow.sdk import Connection


@dataclass(frozen=True)
class ConnectionSettings:
    """Everything the hook needs from a connection; hashable so clients can be cached per settings."""

    conn_id: str
    auth_type: AuthType
    region: str | None = None
    service_endpoint: str | None = None
    log_search_endpoint: str | None = None
    compartment_id: str | None = None
    console_url_template: str | None = None
    tenancy: str | None = None
    user: str | None = None
    fingerprint: str | None = None
    key_file: str | None = None
    security_token_file: str | None = None
    config_file: str | None = None
    profile: str | None = None
    federation_endpoint: str | None = None
    service_account_token_path: str | None = None
    private_key: str | None = field(default=None, repr=False)
    passphrase: str | None = field(default=None, repr=False)

    @classmethod
    def from_connection(
        cls, conn: Connection, extra: Mapping[str, Any] | None = None, region: str | None = None
    ) -> ConnectionSettings:
        """``extra``: the connection's extra as a dict; read from ``conn.extra_dejson`` when not given
        (the event loop passes it, read without a blocking call to the supervisor)."""
        extra = conn.extra_dejson if extra is None else extra
        raw_auth = extra.get("auth_type") or AuthType.API_KEY.value
        try:
            auth_type = AuthType(raw_auth)
        except ValueError:
            allowed = ", ".join(a.value for a in AuthType)
            raise DataflowInvalidInputError(
                f"connection {conn.conn_id!r} extra auth_type", f"{raw_auth!r} is not one of: {allowed}"
            ) from None
        settings = cls(
            conn_id=conn.conn_id,
            auth_type=auth_type,
            region=region or extra.get("region") or None,
            service_endpoint=extra.get("service_endpoint") or None,
            log_search_endpoint=extra.get("log_search_endpoint") or None,
            compartment_id=extra.get("compartment_id") or None,
            console_url_template=extra.get("console_url_template") or None,
            tenancy=extra.get("tenancy") or None,
            user=extra.get("user") or conn.login or None,
            fingerprint=extra.get("fingerprint") or None,
            key_file=extra.get("key_file") or None,
            security_token_file=extra.get("security_token_file") or None,
            config_file=extra.get("config_file") or None,
            profile=extra.get("profile") or None,
            federation_endpoint=extra.get("federation_endpoint") or None,
            service_account_token_path=extra.get("service_account_token_path") or None,
            private_key=conn.password or None,
            passphrase=extra.get("passphrase") or None,
        )
        settings.check_complete()
        return settings

    def check_complete(self) -> None:
        """Fail before any API call when a field the auth type needs is missing."""
        if self.auth_type is AuthType.API_KEY:
            self._require("tenancy", "user", "fingerprint", "region")
            if not (self.private_key or self.key_file):
                raise DataflowInvalidInputError(
                    f"connection {self.conn_id!r} password",
                    "auth_type api_key needs the private key PEM in the password field or a key_file path",
                )
        elif self.auth_type is AuthType.SECURITY_TOKEN and not self.config_file:
            self._require("security_token_file", "key_file", "region")
        elif self.auth_type is AuthType.WORKLOAD_IDENTITY:
            self._require("region")

    def _require(self, *names: str) -> None:
        for name in names:
            if not getattr(self, name):
                raise DataflowInvalidInputError(
                    f"connection {self.conn_id!r} extra {name}",
                    f"auth_type {self.auth_type.value} needs {name}; set it in the connection's extra",
                )

    def secrets(self) -> list[str]:
        """Values to register with Airflow's secrets masker.

        A PEM key is also registered line by line: printed or logged, it reaches the log one line
        per record, and the masker only replaces whole registered values.
        """
        values = [s for s in (self.private_key, self.passphrase) if s]
        if self.private_key:
            values += [line for line in self.private_key.splitlines() if line and not line.startswith("-----")]
        return values


def build_config_and_signer(settings: ConnectionSettings) -> tuple[dict[str, Any], Any]:
    """Return ``(config, signer)`` for ``oci.data_flow.DataFlowClient``; may do blocking I/O.

    Every mode uses one of the oci SDK's own signers; only the file-watching session-token signer
    is ours, and it merely re-reads the token file the SDK's signer is built from. Principal modes are
    built by ``principals.principal_signer`` (bounded retries, one refresh per expiry, named errors).
    """
    import oci

    if settings.auth_type is AuthType.API_KEY:
        config: dict[str, Any] = {
            "tenancy": settings.tenancy,
            "user": settings.user,
            "fingerprint": settings.fingerprint,
            "region": settings.region,
            # The SDK validates these even when it is handed a signer.
            "key_file": settings.key_file,
            "key_content": settings.private_key,
        }
        signer = oci.signer.Signer(
            tenancy=settings.tenancy,
            user=settings.user,
            fingerprint=settings.fingerprint,
            private_key_file_location=settings.key_file,
            pass_phrase=settings.passphrase,
            private_key_content=settings.private_key,
        )
        return config, signer
    if settings.auth_type is AuthType.CONFIG_FILE:
        config = _config_file(settings)
        return config, oci.signer.Signer.from_config(config)
    if settings.auth_type is AuthType.SECURITY_TOKEN:
        profile = _config_file(settings) if settings.config_file else {}
        token_file = settings.security_token_file or profile.get("security_token_file")
        key_file = settings.key_file or profile.get("key_file")
        if not token_file or not key_file:
            raise DataflowInvalidInputError(
                f"connection {settings.conn_id!r} extra security_token_file",
                "auth_type security_token needs security_token_file and key_file (in the extra or the profile)",
            )
        passphrase = settings.passphrase or profile.get("pass_phrase")
        private_key = oci.signer.load_private_key_from_file(key_file, passphrase)
        region = settings.region or profile.get("region")
        return {"region": region}, session_token_signer(token_file, private_key)
    signer = principal_signer(settings)
    return {"region": settings.region or getattr(signer, "region", None)}, signer


def refused_hint(settings: ConnectionSettings) -> str | None:
    """What to check when Data Flow answers 401 to a connection that does not use an API key; None for API keys."""
    if settings.auth_type in (AuthType.API_KEY, AuthType.CONFIG_FILE):
        return None
    if settings.auth_type is AuthType.SECURITY_TOKEN:
        where = settings.security_token_file or f"the session of profile {settings.profile or 'DEFAULT'}"
        return (
            f"auth_type security_token: the session token ({where}) was refused; run `oci session refresh` "
            "before it expires, or `oci session authenticate` once it can no longer be refreshed"
        )
    mode = settings.auth_type.value
    return f"auth_type {mode}: its token was refused even after the signer refreshed it. Check: {advice(settings)}"


def _config_file(settings: ConnectionSettings) -> dict[str, Any]:
    import oci

    config: dict[str, Any] = oci.config.from_file(
        file_location=settings.config_file or oci.config.DEFAULT_LOCATION,
        profile_name=settings.profile or oci.config.DEFAULT_PROFILE,
    )
    if settings.region:
        config["region"] = settings.region
    return config


@functools.cache
def session_token_signer_class() -> type:
    """Built lazily: subclassing the SDK's signer at import time would import ``oci`` with the hook."""
    from oci.auth.signers import SecurityTokenSigner

    class _SessionTokenSigner(SecurityTokenSigner):
        """The SDK's session-token signer, rebuilt when its token file changes.

        ``oci session refresh`` rewrites the token file in place; long-lived triggerers and workers
        pick the new token up on their next request instead of failing with 401 until restarted.
        The SDK's threads share one instance: the file's mtime and the SDK signer built from it are one
        immutable pair, replaced whole under a lock, so no thread ever signs with a half-updated one and
        the file is read once per change. The CLI truncates the file before writing the new token; an
        empty read is that moment, so the current signer stays until the token is there.
        """

        def __init__(self, token_file: str, private_key: Any) -> None:  # the current SDK signer does the work
            self._token_file = Path(token_file).expanduser()
            self._lock = threading.Lock()
            mtime = self._token_file.stat().st_mtime_ns  # before reading: a rewrite in between is read again
            self._state = (mtime, SecurityTokenSigner(self._token_file.read_text().strip(), private_key))

        @property
        def api_key(self) -> str:
            return str(self._signer().api_key)

        @property
        def private_key(self) -> Any:
            return self._state[1].private_key

        def __call__(self, request: Any, enforce_content_headers: bool = True) -> Any:
            return self._signer()(request, enforce_content_headers)

        def _signer(self) -> Any:
            if self._token_file.stat().st_mtime_ns != self._state[0]:
                with self._lock:
                    mtime = self._token_file.stat().st_mtime_ns
                    if mtime != self._state[0]:
                        token = self._token_file.read_text().strip()
                        if token:
                            self._state = (mtime, SecurityTokenSigner(token, self._state[1].private_key))
            return self._state[1]

    return _SessionTokenSigner


def session_token_signer(token_file: str, private_key: Any) -> Any:
    return session_token_signer_class()(token_file, private_key)
