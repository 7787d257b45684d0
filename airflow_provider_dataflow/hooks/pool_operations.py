"""The Data Flow calls of the pool operators, as :class:`~.operations.Operation` values.

Performed like every other call (``DataflowHook.call`` on a worker, ``acall`` in the triggerer): one
attempt, classified failures, retries left to the pipeline. Reads a wait depends on are
``CallKind.POLL``; starting and stopping are ``CallKind.SUBMIT``, so throttled starts never hold the
threads that waits need.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_dataflow.hooks.operations import LIST_PAGE_LIMIT, CallKind, Operation

# SDK attribute name -> Terraform's ``oci_dataflow_pool`` attribute name, where they differ.
_TERRAFORM_NAMES = {"lifecycle_state": "state"}


def get_pool(pool_id: str) -> Operation[dict[str, Any]]:
    def call(client: Any, retry: Any) -> dict[str, Any]:
        return pool_attributes(client.get_pool(pool_id, retry_strategy=retry).data)

    return Operation(CallKind.POLL, f"get pool {pool_id}", call)


def start_pool(pool_id: str, *, retry_token: str) -> Operation[str | None]:
    """Ask the service to start the pool; returns the work request's id. The same ``retry_token`` within
    24 h is the same request (a lost answer repeated starts nothing twice)."""

    def call(client: Any, retry: Any) -> str | None:
        response = client.start_pool(pool_id, opc_retry_token=retry_token, retry_strategy=retry)
        return response.headers.get("opc-work-request-id")

    return Operation(CallKind.SUBMIT, f"start pool {pool_id}", call)


def stop_pool(pool_id: str, *, retry_token: str) -> Operation[str | None]:
    """Ask the service to stop the pool (it cancels the pool's unfinished runs); returns the work request's id."""

    def call(client: Any, retry: Any) -> str | None:
        response = client.stop_pool(pool_id, opc_retry_token=retry_token, retry_strategy=retry)
        return response.headers.get("opc-work-request-id")

    return Operation(CallKind.SUBMIT, f"stop pool {pool_id}", call)


def pool_runs_page(
    compartment_id: str, pool_id: str, page: str | None
) -> Operation[tuple[list[dict[str, Any]], str | None]]:
    """One page of the pool's runs in ``compartment_id`` (``id``, ``state``, ``display_name``), and the next
    page. ListRuns takes one filter besides the compartment, so the caller filters by state."""

    def call(client: Any, retry: Any) -> tuple[list[dict[str, Any]], str | None]:
        kwargs: dict[str, Any] = {"pool_id": pool_id, "limit": LIST_PAGE_LIMIT, "retry_strategy": retry}
        if page:
            kwargs["page"] = page
        response = client.list_runs(compartment_id, **kwargs)
        runs = [{"id": s.id, "state": s.lifecycle_state, "display_name": s.display_name} for s in response.data]
        return runs, response.next_page

    return Operation(CallKind.POLL, f"list the runs of pool {pool_id} in compartment {compartment_id}", call)


def pool_attributes(pool: Any) -> dict[str, Any]:
    """An SDK ``Pool`` as a JSON-safe dict under Terraform's attribute names (``state``, ...), for XCom and events."""
    from oci.util import to_dict

    return {_TERRAFORM_NAMES.get(key, key): value for key, value in to_dict(pool).items()}
