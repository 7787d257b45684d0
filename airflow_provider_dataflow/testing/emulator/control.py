"""A client for the control API, for tests whose emulator runs in another process (or this one)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

# The compartment register_application uses unless told otherwise (the provider's tests and demo use it too).
DEFAULT_COMPARTMENT_ID = "ocid1.compartment.oc1..emulator"


class EmulatorControlError(RuntimeError):
    """The control API rejected a call; the message carries its status and explanation."""


class EmulatorControl:
    """Thin, typed wrapper over ``/_emulator/``; bypasses any HTTP proxy configured in the environment."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def register_key(self, key_id: str, public_key_pem: str, user_name: str | None = None) -> None:
        self._call("POST", "/keys", {"keyId": key_id, "publicKeyPem": public_key_pem, "userName": user_name})

    def remove_key(self, key_id: str) -> None:
        """Stop accepting requests signed with ``key_id``, as when a user deletes an API key in the console."""
        self._call("DELETE", f"/keys/{quote(key_id, safe='')}")

    def settings(
        self,
        accepted_seconds: float | None = None,
        run_seconds: float | None = None,
        cancel_seconds: float | None = None,
        minute_seconds: float | None = None,
        clock_offset_seconds: float | None = None,
    ) -> dict[str, float]:
        """Change the given timings (for runs created from now on) and return all settings.

        ``clock_offset_seconds`` sets the service's clock that far ahead of this machine's (negative: behind):
        requests are signed with this machine's time, so more than 300 s either way is a skewed clock (401).
        """
        changes = {
            "acceptedSeconds": accepted_seconds,
            "runSeconds": run_seconds,
            "cancelSeconds": cancel_seconds,
            "minuteSeconds": minute_seconds,
            "clockOffsetSeconds": clock_offset_seconds,
        }
        return self._call("PUT", "/settings", {key: value for key, value in changes.items() if value is not None})

    def add_behaviour(
        self,
        display_name_regex: str = ".*",
        outcome: str = "SUCCEEDED",
        *,
        freeform_tags: dict[str, str] | None = None,
        accepted_seconds: float | None = None,
        run_seconds: float | None = None,
        cancel_seconds: float | None = None,
        lifecycle_details: str | None = None,
        stdout: list[str] | None = None,
        stderr: list[str] | None = None,
        data_read_in_bytes: int | None = None,
        data_written_in_bytes: int | None = None,
        pool_start_seconds: float | None = None,
        log_lines_per_second: float | None = None,
        log_levels: list[str] | None = None,
        log_executors: int | None = None,
        log_ingestion_lag_seconds: float | None = None,
        log_message: str | None = None,
    ) -> str:
        """Register a behaviour for runs created from now on; returns its id. First match wins.

        ``outcome`` is SUCCEEDED, FAILED (the application fails while IN_PROGRESS) or NO_CAPACITY
        (ACCEPTED, then FAILED with out-of-capacity details, never IN_PROGRESS). ``pool_start_seconds``
        is the cold start of the pools whose displayName and tags match. ``log_*``: the OCI Logging lines its
        runs write while IN_PROGRESS (default one a second, INFO, the driver and two executors, searchable 1 s
        after they are written; ``log_message`` fills in ``{source}`` and ``{n}``).
        """
        payload = {
            "displayNameRegex": display_name_regex,
            "outcome": outcome,
            "freeformTags": freeform_tags,
            "acceptedSeconds": accepted_seconds,
            "runSeconds": run_seconds,
            "cancelSeconds": cancel_seconds,
            "lifecycleDetails": lifecycle_details,
            "stdout": stdout,
            "stderr": stderr,
            "dataReadInBytes": data_read_in_bytes,
            "dataWrittenInBytes": data_written_in_bytes,
            "poolStartSeconds": pool_start_seconds,
            "logLinesPerSecond": log_lines_per_second,
            "logLevels": log_levels,
            "logExecutors": log_executors,
            "logIngestionLagSeconds": log_ingestion_lag_seconds,
            "logMessage": log_message,
        }
        created = self._call("POST", "/behaviours", {key: value for key, value in payload.items() if value is not None})
        return str(created["id"])

    def remove_behaviour(self, behaviour_id: str) -> None:
        self._call("DELETE", f"/behaviours/{behaviour_id}")

    def clear_behaviours(self) -> None:
        self._call("DELETE", "/behaviours")

    def add_fault(
        self,
        method: str | None = None,
        path_regex: str = ".*",
        status: int = 500,
        code: str | None = None,
        message: str | None = None,
        retry_after_seconds: float | None = None,
        times: int | None = 1,
        action: str = "respond",
    ) -> str:
        """Inject a fault into the next ``times`` matching API calls (None: every call); returns its id."""
        payload = {
            "method": method,
            "pathRegex": path_regex,
            "status": status,
            "code": code,
            "message": message,
            "retryAfterSeconds": retry_after_seconds,
            "times": times,
            "action": action,
        }
        return str(self._call("POST", "/faults", payload)["id"])

    def faults(self) -> list[dict[str, Any]]:
        """The rules with how often each was applied."""
        return self._call("GET", "/faults")

    def remove_fault(self, fault_id: str) -> None:
        self._call("DELETE", f"/faults/{fault_id}")

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def journal(self) -> list[dict[str, Any]]:
        return self._call("GET", "/journal")

    def clear_journal(self) -> None:
        self._call("DELETE", "/journal")

    def set_journal_limit(self, limit: int) -> None:
        """Keep at most ``limit`` entries (the newest); 0 stops journaling, which long benchmarks want."""
        self._call("PUT", "/journal/limit", {"limit": limit})

    def stats(self) -> dict[str, Any]:
        """apiRequests, controlRequests, cpuSeconds, uptimeSeconds, runs, journalEntries (see docs/emulator.md)."""
        return self._call("GET", "/stats")

    def runs(self) -> list[dict[str, Any]]:
        """Every run's current Run JSON, oldest first, regardless of compartment."""
        return self._call("GET", "/runs")

    def create_runs(
        self,
        count: int,
        compartment_id: str,
        *,
        display_name_prefix: str = "bulk-",
        execute: str | None = None,
        application_id: str | None = None,
        freeform_tags: dict[str, str] | None = None,
        run_type: str | None = None,
    ) -> list[str]:
        """Create ``count`` runs in one call, as POST /runs would; returns their ids in creation order.

        ``ids[i]`` is named ``display_name_prefix`` + i (zero-padded); without ``execute`` or
        ``application_id`` the runs execute a stock PYTHON file.
        """
        payload = {
            "count": count,
            "compartmentId": compartment_id,
            "displayNamePrefix": display_name_prefix,
            "execute": execute,
            "applicationId": application_id,
            "freeformTags": freeform_tags,
            "type": run_type,
        }
        created = self._call("POST", "/runs/bulk", {key: value for key, value in payload.items() if value is not None})
        return list(created["ids"])

    def finish_run(self, run_id: str, state: str = "SUCCEEDED", lifecycle_details: str | None = None) -> dict[str, Any]:
        return self._call("POST", f"/runs/{run_id}/finish", {"state": state, "lifecycleDetails": lifecycle_details})

    def principals(self) -> dict[str, Any]:
        """The credential services' endpoints and, per service, tokens issued, requests, lifetime and refusal."""
        return self._call("GET", "/principals")

    def set_token_lifetime(self, service: str, seconds: float) -> dict[str, Any]:
        """Lifetime of the tokens ``service`` issues from now on; returns that service's figures."""
        return self._call("PUT", f"/principals/services/{service}", {"lifetimeSeconds": seconds})

    def refuse_principal_service(self, service: str, status: int | None) -> dict[str, Any]:
        """Make ``service`` answer every request with ``status`` (None: serve again)."""
        return self._call("PUT", f"/principals/services/{service}", {"refuseStatus": status})

    def principal_setup(self, mode: str, **options: Any) -> dict[str, Any]:
        """``{"mode", "env", "signerKwargs", "principalId"}`` that point the SDK's signer for ``mode`` here."""
        return self._call("POST", "/principals/setups", {"mode": mode, **options})

    def register_application(
        self, application_id: str, compartment_id: str = DEFAULT_COMPARTMENT_ID, **fields: Any
    ) -> dict[str, Any]:
        """Create an application under the OCID a DAG names (the API would pick a new one); returns its JSON.

        ``fields`` are CreateApplicationDetails attributes in snake_case (``file_uri``, ``arguments``,
        ``parameters=[{"name": ..., "value": ...}]``, ...), values as the API's JSON; any required field
        left out gets a default (a PYTHON file, one executor, the default shapes and Spark version).
        """
        payload = {"id": application_id, "compartmentId": compartment_id}
        payload.update({_camel_case(name): value for name, value in fields.items()})
        return self._call("POST", "/applications", payload)

    def register_pool(
        self,
        pool_id: str,
        compartment_id: str = DEFAULT_COMPARTMENT_ID,
        lifecycle_state: str = "ACTIVE",
        **fields: Any,
    ) -> dict[str, Any]:
        """Create a pool under the OCID a DAG names, already ``lifecycle_state`` (ACTIVE, STOPPED, ACCEPTED,
        SCHEDULED or FAILED); returns its Pool JSON.

        ``fields`` are CreatePoolDetails attributes in snake_case (``configurations=[{"shape": ...,
        "max": ...}]``, ``idle_timeout_in_minutes``, ...). By default the pool has one configuration of
        four ``VM.Standard.E4.Flex`` instances: room for two runs of a driver and one executor.
        """
        payload = {"id": pool_id, "compartmentId": compartment_id, "lifecycleState": lifecycle_state}
        payload.update({_camel_case(name): value for name, value in fields.items()})
        return self._call("POST", "/pools", payload)

    def pools(self) -> list[dict[str, Any]]:
        """Every pool's current Pool JSON (metrics included), oldest first, regardless of compartment."""
        return self._call("GET", "/pools")

    def pool_settings(self, start_seconds: float | None = None, stop_seconds: float | None = None) -> dict[str, float]:
        """Change how long pools take to start (cold start) and to stop, create or delete; returns both."""
        changes = {"startSeconds": start_seconds, "stopSeconds": stop_seconds}
        return self._call("PUT", "/pools/settings", {key: value for key, value in changes.items() if value is not None})

    def set_ocpu_limit(self, ocpus: float | None) -> dict[str, Any]:
        """Limit the OCPUs the tenancy's runs outside pools hold at once (None: no limit). A create beyond
        it is 400 LimitExceeded, or queued when the run sets ``spark.dataflow.acquireQuotaTimeout``."""
        return self._call("PUT", "/limits", {"ocpus": ocpus})

    def set_compartments(self, compartment_ids: list[str] | None) -> None:
        """Answer 404 NotAuthorizedOrNotFound for creates and lists naming any other compartment; None: allow all."""
        self._call("PUT", "/compartments", {"compartmentIds": compartment_ids})

    def register_log(self, log_id: str, compartment_id: str) -> None:
        """Say which compartment a custom log is in (unregistered logs are in the compartment of the run writing
        to them): a search must name it as ``"<compartment>/<log group>/<log>"``."""
        self._call("POST", "/logs", {"logId": log_id, "compartmentId": compartment_id})

    def enable_diagnostic_log(
        self, application_id: str, log_group_id: str, log_id: str, compartment_id: str = DEFAULT_COMPARTMENT_ID
    ) -> None:
        """Enable the application's Spark diagnostic service log, as the console does: runs submitted from now on
        stream their driver and executor lines to it."""
        payload = {
            "applicationId": application_id,
            "compartmentId": compartment_id,
            "logGroupId": log_group_id,
            "logId": log_id,
        }
        self._call("POST", "/logs/diagnostic", payload)

    def set_log_search_max_results(self, max_results: int) -> None:
        """Records a search may match before it is refused with 400 "search result is too large" (default 10,000)."""
        self._call("PUT", "/logs/search", {"maxResults": max_results})

    def set_tag_namespaces(self, namespaces: dict[str, list[str]] | None) -> None:
        """Declare the tenancy's defined tags (namespace -> keys); creates and updates naming others get 400
        RelatedResourceNotAuthorizedOrNotFound. None (the default) accepts every tag."""
        self._call("PUT", "/tag-namespaces", {"tagNamespaces": namespaces})

    def reset(self) -> None:
        """Drop runs, applications, pools, work requests, faults, behaviours, the journal and where logs are; keep
        keys, settings (pool settings and the OCPU limit too), compartments and tag namespaces."""
        self._call("POST", "/reset")

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(f"{self.url}/_emulator{path}", data=data, method=method)
        if data is not None:
            request.add_header("content-type", "application/json")
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            raise EmulatorControlError(f"{method} {path} failed with {error.code}: {detail}") from None
        return json.loads(body) if body else None


def _camel_case(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)
