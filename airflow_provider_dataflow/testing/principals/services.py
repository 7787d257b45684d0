"""Start the credential services beside a ``DataflowEmulator`` and hand out per-mode SDK setups.

One plain-HTTP server holds the instance metadata service, Auth Service's ``/v1/x509`` and the resource
principal 3.0 session token endpoint; each 3.0 parent's token endpoint has a server of its own (the SDK
allows no path in that URL); the OKE proxy is an HTTPS server on port 12250 (fixed in the SDK) of a random
127.0.0.0/8 address, so several emulators can run on one machine. The emulator trusts the services'
token issuer: its Data Flow endpoints accept every token they issue, until the token expires.
"""

from __future__ import annotations

import contextlib
import errno
import random
import shutil
import ssl
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from airflow_provider_dataflow.testing.emulator.identifiers import new_ocid
from airflow_provider_dataflow.testing.principals.certificates import (
    KeyAndCertificate,
    issue_certificate,
    self_signed_ca,
)
from airflow_provider_dataflow.testing.principals.federation import FEDERATION_PATH, FederationService
from airflow_provider_dataflow.testing.principals.http_server import PrincipalServer, Route
from airflow_provider_dataflow.testing.principals.instance_metadata import (
    METADATA_PATH,
    InstanceIdentity,
    metadata_routes,
    new_instance_identity,
)
from airflow_provider_dataflow.testing.principals.ledger import PrincipalService, ServiceLedger
from airflow_provider_dataflow.testing.principals.principal_setup import PrincipalMode, PrincipalSetup
from airflow_provider_dataflow.testing.principals.resource_principal_v2_2 import ResourcePrincipalV22
from airflow_provider_dataflow.testing.principals.resource_principal_v3 import NestedResourceService, ParentResource
from airflow_provider_dataflow.testing.principals.resources import ResourceIdentity
from airflow_provider_dataflow.testing.principals.tokens import TokenIssuer
from airflow_provider_dataflow.testing.principals.workload_identity import (
    PROXYMUX_PORT,
    Workload,
    WorkloadIdentityProxy,
)

if TYPE_CHECKING:
    from airflow_provider_dataflow.testing.emulator.emulator import DataflowEmulator

MAX_NESTED_PARENTS = 2  # the SDK follows one opc-parent-rpt-url hop beyond the first parent
_LEAF = "_FOR_LEAF_RESOURCE"
_PROXY_BIND_ATTEMPTS = 20
# Control API option -> (keyword argument, JSON type), per mode.
_OPTIONS: dict[PrincipalMode, dict[str, tuple[str, type]]] = {
    PrincipalMode.INSTANCE_PRINCIPAL: {},
    PrincipalMode.RESOURCE_PRINCIPAL_V2_2: {"inFiles": ("in_files", bool)},
    PrincipalMode.RESOURCE_PRINCIPAL_V3: {"parents": ("parents", int)},
    PrincipalMode.WORKLOAD_IDENTITY: {"namespace": ("namespace", str), "serviceAccount": ("service_account", str)},
}


class PrincipalServices:
    """Credential services for instance principals, resource principals 2.2 and 3.0 and OKE workload identity.

    Use as a context manager, or ``start()`` / ``stop()``. ``token_seconds`` is the initial lifetime of
    every token the services issue (change it per service with ``set_token_lifetime``); service account
    tokens, which the cluster and not OCI issues, last ``service_account_token_seconds``. Files (the 2.2
    token and key, the cluster CA, service account tokens) go to ``workdir``, a temporary directory
    removed on ``stop()`` when not given.
    """

    def __init__(
        self,
        emulator: DataflowEmulator,
        *,
        token_seconds: float = 3600.0,
        service_account_token_seconds: float = 3600.0,
        host: str = "127.0.0.1",
        workdir: str | Path | None = None,
    ) -> None:
        self._state = emulator.state
        self.ledger = ServiceLedger(token_seconds)
        self._service_account_token_seconds = service_account_token_seconds
        self._host = host
        self._given_workdir = Path(workdir) if workdir is not None else None
        self._issuer = TokenIssuer()
        self._nested = NestedResourceService(self._issuer, self.ledger)
        self._proxy = WorkloadIdentityProxy(self._issuer, self.ledger)
        self._running: _Running | None = None

    def start(self) -> PrincipalServices:
        if self._running is not None:
            raise RuntimeError("the credential services are already running")
        workdir = self._given_workdir or Path(tempfile.mkdtemp(prefix="dataflow-principals-"))
        region = self._state.region
        compartment_id, tenancy_id = new_ocid("compartment", ""), new_ocid("tenancy", "")
        root = self_signed_ca("PKISVC Identity Root emulator")
        instance = new_instance_identity(root, new_ocid("instance", region), compartment_id, tenancy_id, region)
        federation = FederationService(root.certificate, self._issuer, self.ledger)
        routes = metadata_routes(instance) + federation.routes() + self._nested.session_token_routes()
        http = PrincipalServer((self._host, 0), routes, self.ledger)
        proxy: PrincipalServer | None = None
        try:
            proxy = _bind_proxy(self._proxy.routes(), self.ledger)
            ca_path = _serve_tls(proxy, workdir / "kubernetes")
        except BaseException:
            for server in (http, proxy):
                if server is not None:
                    server.close()
            if self._given_workdir is None:
                shutil.rmtree(workdir, ignore_errors=True)
            raise
        self._running = _Running(workdir, compartment_id, tenancy_id, instance, http, proxy, ca_path)
        http.start()
        proxy.start()
        self._state.keys.trust_issuer(self._issuer.public_key)
        self._state.principals = self
        return self

    def stop(self) -> None:
        running, self._running = self._running, None
        if running is None:
            return
        if self._state.principals is self:
            self._state.principals = None
        for server in [running.http, running.proxy, *running.token_servers.values()]:
            server.close()
        for resource in running.resource_principals:
            resource.stop()
        if self._given_workdir is None:
            shutil.rmtree(running.workdir, ignore_errors=True)

    def __enter__(self) -> PrincipalServices:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The plain-HTTP server: metadata under /opc/v2, Auth Service, resource principal session tokens."""
        return self._checked().http.url

    @property
    def workload_identity_url(self) -> str:
        return self._checked().proxy.url

    # Setups, one per auth mode.

    def instance_principal(self) -> PrincipalSetup:
        """The emulated instance: ``InstancePrincipalsSecurityTokenSigner(**signer_kwargs)``."""
        running = self._checked()
        return PrincipalSetup(
            PrincipalMode.INSTANCE_PRINCIPAL,
            env={"OCI_METADATA_BASE_URL": f"{running.http.url}{METADATA_PATH}"},
            signer_kwargs={"federation_endpoint": f"{running.http.url}{FEDERATION_PATH}"},
            principal_id=running.instance.instance_id,
        )

    def resource_principal_v2_2(self, *, in_files: bool = True) -> PrincipalSetup:
        """A new resource for ``get_resource_principals_signer()``; only ``in_files`` tokens are ever refreshed."""
        resource = self._resource_principal(in_files)
        env = {"OCI_RESOURCE_PRINCIPAL_VERSION": "2.2", **resource.env()}
        return PrincipalSetup(PrincipalMode.RESOURCE_PRINCIPAL_V2_2, env, principal_id=resource.identity.resource_id)

    def resource_principal_v3(self, *, parents: int = 1) -> PrincipalSetup:
        """A 2.2 leaf nested in ``parents`` resources (1 or 2); the runs it creates belong to the outermost."""
        if not 1 <= parents <= MAX_NESTED_PARENTS:
            raise ValueError(f"parents must be 1 to {MAX_NESTED_PARENTS}: the SDK follows one opc-parent-rpt-url hop")
        running = self._checked()
        leaf = self._resource_principal(in_files=True)
        chain = [self._resource("dataflowrun") for _ in range(parents)]
        children = [leaf.identity.resource_id, *(parent.resource_id for parent in chain[:-1])]
        rpt_url: str | None = None
        for identity, child_id in reversed(list(zip(chain, children, strict=True))):  # a parent names the next
            parent = ParentResource(identity, child_id, rpt_url)
            self._nested.add_parent(parent)
            server = PrincipalServer((self._host, 0), self._nested.token_routes(parent), self.ledger)
            server.start()
            running.token_servers[identity.resource_id] = server
            rpt_url = server.url
        env = {
            "OCI_RESOURCE_PRINCIPAL_VERSION": "3.0",
            f"OCI_RESOURCE_PRINCIPAL_VERSION{_LEAF}": "2.2",
            **leaf.env(_LEAF),
            "OCI_RESOURCE_PRINCIPAL_RPT_URL_FOR_PARENT_RESOURCE": str(rpt_url),
            "OCI_RESOURCE_PRINCIPAL_RPST_ENDPOINT_FOR_PARENT_RESOURCE": running.http.url,
        }
        return PrincipalSetup(PrincipalMode.RESOURCE_PRINCIPAL_V3, env, principal_id=chain[-1].resource_id)

    def workload_identity(
        self, *, namespace: str = "airflow", service_account: str = "airflow-worker"
    ) -> PrincipalSetup:
        """A pod's service account: ``get_oke_workload_identity_resource_principal_signer(**signer_kwargs)``."""
        running = self._checked()
        workload = Workload(namespace, service_account, self._resource("workload"))
        token = self._proxy.add_workload(workload, self._service_account_token_seconds, time.time())
        token_path = running.workdir / "kubernetes" / f"{namespace}.{service_account}.token"
        token_path.write_text(token)
        env = {
            "KUBERNETES_SERVICE_HOST": str(running.proxy.server_address[0]),
            "OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH": str(running.ca_path),
            "OCI_RESOURCE_PRINCIPAL_REGION": self._state.region,
        }
        return PrincipalSetup(
            PrincipalMode.WORKLOAD_IDENTITY,
            env,
            signer_kwargs={"service_account_token_path": str(token_path)},
            principal_id=workload.identity.resource_id,
        )

    # Figures and knobs, also reachable through the emulator's control API.

    def issued(self, service: PrincipalService | str) -> int:
        """Tokens ``service`` has issued so far (for 2.2: token files written or values handed out)."""
        return self.ledger.issued(PrincipalService(service))

    def set_token_lifetime(self, service: PrincipalService | str, seconds: float) -> None:
        """Lifetime of the tokens ``service`` issues from now on (at least 1 s)."""
        self.ledger.configure(PrincipalService(service), {"lifetimeSeconds": seconds})

    def refuse(self, service: PrincipalService | str, status: int | None) -> None:
        """Answer every request to ``service`` with ``status`` (for 2.2: stop rewriting token files); None resumes."""
        self.ledger.configure(PrincipalService(service), {"refuseStatus": status})

    def status(self) -> dict[str, Any]:
        running = self._checked()
        url = running.http.url
        endpoints = {
            PrincipalService.INSTANCE_METADATA.value: f"{url}{METADATA_PATH}",
            PrincipalService.FEDERATION.value: f"{url}{FEDERATION_PATH}",
            PrincipalService.RESOURCE_PRINCIPAL_TOKEN.value: {
                resource_id: server.url for resource_id, server in running.token_servers.items()
            },
            PrincipalService.RESOURCE_PRINCIPAL_SESSION_TOKEN.value: url,
            PrincipalService.WORKLOAD_IDENTITY.value: running.proxy.url,
        }
        return {"endpoints": endpoints, "services": self.ledger.to_json()}

    def configure(self, service: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        return self.ledger.configure(PrincipalService(service), payload)

    def setup(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The control API's ``POST /_emulator/principals/setups``: ``{"mode", ...options}`` -> a setup's JSON."""
        options = dict(payload)
        mode = PrincipalMode(options.pop("mode", None))
        kwargs = {}
        for name, value in options.items():
            if name not in _OPTIONS[mode]:
                raise ValueError(f"{mode.value} takes no option {name!r}")
            python_name, kind = _OPTIONS[mode][name]
            # JSON true/false arrive as bool, which Python also counts as int: only bool options take them.
            if not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool):
                raise ValueError(f"{name} must be a {kind.__name__}")
            kwargs[python_name] = value
        return self.for_mode(mode, **kwargs).to_json()

    def for_mode(self, mode: PrincipalMode | str, **options: Any) -> PrincipalSetup:
        """The setup of ``mode``; ``options`` are that mode's method's keyword arguments."""
        builders: dict[PrincipalMode, Callable[..., PrincipalSetup]] = {
            PrincipalMode.INSTANCE_PRINCIPAL: self.instance_principal,
            PrincipalMode.RESOURCE_PRINCIPAL_V2_2: self.resource_principal_v2_2,
            PrincipalMode.RESOURCE_PRINCIPAL_V3: self.resource_principal_v3,
            PrincipalMode.WORKLOAD_IDENTITY: self.workload_identity,
        }
        return builders[PrincipalMode(mode)](**options)

    def _resource(self, resource_type: str) -> ResourceIdentity:
        running = self._checked()
        return ResourceIdentity.new(resource_type, running.compartment_id, running.tenancy_id, self._state.region)

    def _resource_principal(self, in_files: bool) -> ResourcePrincipalV22:
        running = self._checked()
        directory = running.workdir / "resource-principals" / uuid.uuid4().hex[:12] if in_files else None
        resource = ResourcePrincipalV22(self._resource("dataflowrun"), self._issuer, self.ledger, directory)
        running.resource_principals.append(resource)
        return resource

    def _checked(self) -> _Running:
        if self._running is None:
            raise RuntimeError("the credential services are not running; call start() first")
        return self._running


class _Running:
    """What exists only while the services run."""

    def __init__(
        self,
        workdir: Path,
        compartment_id: str,
        tenancy_id: str,
        instance: InstanceIdentity,
        http: PrincipalServer,
        proxy: PrincipalServer,
        ca_path: Path,
    ) -> None:
        self.workdir = workdir
        self.compartment_id = compartment_id
        self.tenancy_id = tenancy_id
        self.instance = instance
        self.http = http
        self.proxy = proxy
        self.ca_path = ca_path
        self.resource_principals: list[ResourcePrincipalV22] = []
        self.token_servers: dict[str, PrincipalServer] = {}  # a resource principal 3.0 parent's RPT server


def _bind_proxy(routes: list[Route], ledger: ServiceLedger) -> PrincipalServer:
    """Port 12250 on a random loopback address (Linux routes all of 127.0.0.0/8 to the loopback device)."""
    for _ in range(_PROXY_BIND_ATTEMPTS):
        address = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(1, 254)}"
        try:
            return PrincipalServer((address, PROXYMUX_PORT), routes, ledger)
        except OSError as exc:
            if exc.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL):
                raise
    raise RuntimeError(f"no free 127.x.y.z address for port {PROXYMUX_PORT} (the OKE proxy's, fixed in the SDK)")


def _serve_tls(proxy: PrincipalServer, directory: Path) -> Path:
    """Make the proxy HTTPS with a certificate from a cluster CA; returns the CA file the SDK must trust."""
    directory.mkdir(parents=True, exist_ok=True)
    cluster_ca = self_signed_ca("emulator-kubernetes-ca")
    address = str(proxy.server_address[0])
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "proxymux")])
    server = issue_certificate(cluster_ca, name, ip_address=address)
    ca_path = directory / "ca.crt"
    ca_path.write_text(cluster_ca.certificate_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with _key_files(directory, server) as (certificate_file, key_file):
        context.load_cert_chain(certificate_file, key_file)
    proxy.use_tls(context)
    return ca_path


@contextlib.contextmanager
def _key_files(directory: Path, pair: KeyAndCertificate) -> Iterator[tuple[str, str]]:
    """``ssl`` loads certificates only from files; the key file lives only as long as loading takes."""
    certificate_file, key_file = directory / "proxymux.crt", directory / "proxymux.key"
    certificate_file.write_text(pair.certificate_pem)
    key_file.touch(mode=0o600)
    key_file.write_text(pair.private_key_pem)
    try:
        yield str(certificate_file), str(key_file)
    finally:
        key_file.unlink()
        certificate_file.unlink()
