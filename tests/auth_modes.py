"""Every auth mode of an ``oci_dataflow`` connection, pointed at the emulator and its credential services.

Shared by the integration tests (hook, triggers and ``dag.test()`` in this process) and the system tests
(a real Airflow stack, whose processes get the same variables). Resource principals come in two
versions with conflicting variables (``OCI_RESOURCE_PRINCIPAL_VERSION``), so they are two cases here.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_dataflow.testing.credentials import TestCredentials, generate_test_credentials
from airflow_provider_dataflow.testing.principals import PrincipalMode, PrincipalService, PrincipalServices

API_KEY = "api_key"
CONFIG_FILE = "config_file"
SECURITY_TOKEN = "security_token"
INSTANCE_PRINCIPAL = "instance_principal"
RESOURCE_PRINCIPAL_V2_2 = "resource_principal_v2_2"
RESOURCE_PRINCIPAL_V3 = "resource_principal_v3"
WORKLOAD_IDENTITY = "workload_identity"
MODES = (
    API_KEY,
    CONFIG_FILE,
    SECURITY_TOKEN,
    INSTANCE_PRINCIPAL,
    RESOURCE_PRINCIPAL_V2_2,
    RESOURCE_PRINCIPAL_V3,
    WORKLOAD_IDENTITY,
)
PRINCIPAL_MODES = (INSTANCE_PRINCIPAL, RESOURCE_PRINCIPAL_V2_2, RESOURCE_PRINCIPAL_V3, WORKLOAD_IDENTITY)
# Modes whose token comes from a service that counts token requests (2.2 tokens come in files).
TOKEN_SERVICE = {
    INSTANCE_PRINCIPAL: PrincipalService.FEDERATION,
    RESOURCE_PRINCIPAL_V3: PrincipalService.RESOURCE_PRINCIPAL_SESSION_TOKEN,
    WORKLOAD_IDENTITY: PrincipalService.WORKLOAD_IDENTITY,
}
# Lifetimes for tests that wait through several refreshes. ``exp`` is whole seconds, so a 2 s token lives
# 2-3 s. Instance principal signers renew once less than 60 s are left (whole seconds, and before every
# request when a token lives 60 s or less), so a 61 s token is renewed 2-3 s after it was issued.
LIFETIME_SECONDS = 2.0
INSTANCE_PRINCIPAL_EXTRA_SECONDS = 59.0
# Variables a developer's shell might set that would steer a signer elsewhere.
SIGNER_VARIABLE_PREFIXES = ("OCI_RESOURCE_PRINCIPAL_",)
SIGNER_VARIABLES = ("OCI_METADATA_BASE_URL", "KUBERNETES_SERVICE_HOST", "OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH")


def auth_type(mode: str) -> str:
    """The connection's ``auth_type`` for a mode of this module."""
    return "resource_principal" if mode.startswith("resource_principal") else mode


@dataclass
class ModeSetup:
    """A connection for one mode, and what the process that uses it needs in its environment."""

    mode: str
    extra: dict[str, Any]
    password: str = ""
    env: dict[str, str] = field(default_factory=dict)
    session: SessionTokenFile | None = None

    def connection_json(self) -> str:
        return json.dumps({"conn_type": "oci_dataflow", "password": self.password, "extra": self.extra})


def shorten_lifetimes(principals: PrincipalServices, seconds: float = LIFETIME_SECONDS) -> None:
    """Tokens issued from now on live ``seconds`` (instance principal tokens: 59 s more, see above)."""
    for service in PrincipalService:
        if service is PrincipalService.FEDERATION:
            principals.set_token_lifetime(service, seconds + INSTANCE_PRINCIPAL_EXTRA_SECONDS)
        elif service is not PrincipalService.INSTANCE_METADATA:
            principals.set_token_lifetime(service, seconds)


def mode_setup(
    mode: str,
    *,
    endpoint: str,
    compartment_id: str,
    region: str,
    creds: TestCredentials,
    principals: PrincipalServices,
    directory: Path,
    register_key: Callable[[str, str], None],
    session_lifetime: float = LIFETIME_SECONDS,
) -> ModeSetup:
    """The connection (and environment) for ``mode``; files go to ``directory``."""
    common = {"service_endpoint": endpoint, "compartment_id": compartment_id}
    directory.mkdir(parents=True, exist_ok=True)
    if mode == API_KEY:
        return ModeSetup(mode, creds.connection_extra(endpoint, compartment_id, region), password=creds.private_key_pem)
    if mode == CONFIG_FILE:
        key_file = directory / "api_key.pem"
        key_file.write_text(creds.private_key_pem)
        config = directory / "config"
        config.write_text(
            f"[DATAFLOW]\nuser={creds.user}\nfingerprint={creds.fingerprint}\ntenancy={creds.tenancy}\n"
            f"region={region}\nkey_file={key_file}\n"
        )
        return ModeSetup(mode, {"auth_type": mode, "config_file": str(config), "profile": "DATAFLOW", **common})
    if mode == SECURITY_TOKEN:
        session = SessionTokenFile(directory, register_key, session_lifetime)
        extra = {
            "auth_type": mode,
            "security_token_file": str(session.token_file),
            "key_file": str(session.key_file),
            "region": region,
            **common,
        }
        return ModeSetup(mode, extra, session=session)
    setup = principals.for_mode(PrincipalMode(mode))
    extra = {"auth_type": auth_type(mode), **common, **setup.signer_kwargs}
    if mode == WORKLOAD_IDENTITY:
        extra["region"] = region
    return ModeSetup(mode, extra, env=dict(setup.env))


def stack_environment(setups: Iterable[ModeSetup]) -> dict[str, str]:
    """Every setup's variables and its connection ``oci_dataflow_<auth_type>``, for all of a stack's processes;
    a variable two modes would set differently is an error (they cannot share processes)."""
    env: dict[str, str] = {}
    for setup in setups:
        for name, value in setup.env.items():
            if env.setdefault(name, value) != value:
                raise ValueError(f"{setup.mode} needs {name}={value!r}, another mode {env[name]!r}")
        env[f"AIRFLOW_CONN_OCI_DATAFLOW_{auth_type(setup.mode).upper()}"] = setup.connection_json()
    return env


def clean_signer_environment(environ: Mapping[str, str]) -> list[str]:
    """Names of variables that would steer a principal signer, present in ``environ``."""
    return [name for name in environ if name.startswith(SIGNER_VARIABLE_PREFIXES) or name in SIGNER_VARIABLES]


class SessionTokenFile:
    """A session as ``oci session authenticate`` leaves it (a key and a token file), renewed the way
    ``oci session refresh`` renews it: the token file is truncated, then written, in place.

    Each token is JWT-shaped with an ``exp``; ``register_key`` tells the emulator its session key (the
    emulator refuses a token after its ``exp``). ``keep_refreshing()`` renews it four times per lifetime in
    a thread until ``stop()`` (the thread shares a loaded test process with the emulator: a renewal may come
    a second late); ``pause`` widens the moment the file is empty, as a slow disk would.
    """

    def __init__(self, directory: Path, register_key: Callable[[str, str], None], lifetime: float) -> None:
        self._key = generate_test_credentials()  # the session key pair
        self._register_key = register_key
        self.lifetime = lifetime
        self.key_file = directory / "session_key.pem"
        self.key_file.write_text(self._key.private_key_pem)
        self.token_file = directory / "token"
        self.tokens: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refresh()

    def refresh(self, pause: float = 0.0) -> str:
        token = _session_token({"sub": "ocid1.user.oc1..session", "exp": int(time.time() + self.lifetime) + 1})
        self._register_key(f"ST${token}", self._key.public_key_pem)
        with self.token_file.open("w") as file:  # truncates: readers may see an empty file now
            file.flush()
            os.fsync(file.fileno())
            time.sleep(pause)
            file.write(token)
        self.tokens.append(token)
        return token

    def keep_refreshing(self, pause: float = 0.0) -> None:
        def loop() -> None:
            while not self._stop.wait(self.lifetime / 4):
                self.refresh(pause)

        self._thread = threading.Thread(target=loop, name="oci-session-refresh", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def _session_token(claims: dict[str, Any]) -> str:
    """JWT-shaped (the emulator reads ``exp``; a registered token's signature is never verified)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"
