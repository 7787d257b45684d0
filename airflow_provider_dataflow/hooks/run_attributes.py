"""Present a run the way Terraform's ``oci_dataflow_invoke_run`` exports it (its "Attributes Reference")."""

from __future__ import annotations

from typing import Any

# SDK attribute name -> Terraform attribute name, where they differ.
_RENAMED = {"lifecycle_state": "state", "total_o_cpu": "total_ocpu"}


def run_attributes(run: Any, opc_request_id: str | None = None) -> dict[str, Any]:
    """Turn an SDK ``Run`` or ``RunSummary`` into a JSON-safe dict (usable as XCom and trigger payload)."""
    from oci.util import to_dict

    attributes = {_RENAMED.get(key, key): value for key, value in to_dict(run).items()}
    if opc_request_id is not None:
        attributes["opc_request_id"] = opc_request_id
    return attributes
