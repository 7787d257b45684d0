"""Resource principal 2.2: the hosting service hands the code an RPST and the session private key.

``get_resource_principals_signer()`` reads ``OCI_RESOURCE_PRINCIPAL_RPST`` and
``OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM`` (``..._FOR_LEAF_RESOURCE`` as the leaf of 3.0). Each holds either
the value itself or an absolute path to a file. Only files can be refreshed: the SDK never asks for a new
token, it re-reads both files when a call comes back 401. So, like the platform, this rewrites the token
file once half of the current token's lifetime has passed (atomically, so a reader never sees half a
token); the session key stays the same, since rewriting two files cannot be atomic.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from airflow_provider_dataflow.testing.principals.certificates import new_rsa_key
from airflow_provider_dataflow.testing.principals.ledger import PrincipalService, ServiceLedger
from airflow_provider_dataflow.testing.principals.resources import ResourceIdentity
from airflow_provider_dataflow.testing.principals.tokens import TokenIssuer

_SERVICE = PrincipalService.RESOURCE_PRINCIPAL_V2_2
_POLL_SECONDS = 0.1


class ResourcePrincipalV22:
    """One resource's RPST and key, as values or as files kept fresh by a thread until ``stop()``."""

    def __init__(
        self, identity: ResourceIdentity, issuer: TokenIssuer, ledger: ServiceLedger, directory: Path | None
    ) -> None:
        self.identity = identity
        self._issuer = issuer
        self._ledger = ledger
        self._key = new_rsa_key()
        self._directory = directory
        self._written_at = 0.0
        self._token = self._issue()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            _write(self.key_path, self._private_key_pem())
            _write(self.token_path, self._token)
            self._thread = threading.Thread(target=self._keep_fresh, name=f"rpst-{directory.name}", daemon=True)
            self._thread.start()

    @property
    def token_path(self) -> Path:
        return self._checked_directory() / "rpst"

    @property
    def key_path(self) -> Path:
        return self._checked_directory() / "private.pem"

    def env(self, suffix: str = "") -> dict[str, str]:
        """The 2.2 variables; ``suffix`` is ``_FOR_LEAF_RESOURCE`` when this is the leaf of a 3.0 chain."""
        in_files = self._directory is not None
        return {
            f"OCI_RESOURCE_PRINCIPAL_RPST{suffix}": str(self.token_path) if in_files else self._token,
            f"OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM{suffix}": str(self.key_path) if in_files else self._private_key_pem(),
            f"OCI_RESOURCE_PRINCIPAL_REGION{suffix}": self.identity.region,
        }

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _keep_fresh(self) -> None:
        while not self._stopped.wait(_POLL_SECONDS):
            due = self._written_at + self._ledger.lifetime(_SERVICE) / 2
            if time.time() >= due and self._ledger.refusal(_SERVICE) is None:
                _write(self.token_path, self._issue())

    def _issue(self) -> str:
        now = time.time()
        token = self._issuer.issue(
            self.identity.resource_id,
            self._ledger.lifetime(_SERVICE),
            now,
            self.identity.rpst_claims(),
            self._key.public_key(),
        )
        self._written_at = now
        self._ledger.count_issued(_SERVICE)
        return token

    def _private_key_pem(self) -> str:
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    def _checked_directory(self) -> Path:
        if self._directory is None:
            raise RuntimeError("this resource principal hands over values, not files")
        return self._directory


def _write(path: Path, text: str) -> None:
    """Replace the file in one step: the SDK may read it at any moment."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as file:
        file.write(text)
    os.replace(temporary, path)
