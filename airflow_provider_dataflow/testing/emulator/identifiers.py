"""Identifiers shaped like the service's, so code that parses or logs them sees realistic values."""

from __future__ import annotations

import base64
import functools
import secrets
import uuid

# "With the introduction of the Frankfurt region, the format switched from a three-character code to a longer
# string" (Oracle, "Resource Identifiers"): only the two regions before it put their key in OCIDs.
_THREE_CHARACTER_REGIONS = {"us-phoenix-1": "phx", "us-ashburn-1": "iad"}


def new_ocid(resource_type: str, region: str) -> str:
    """``ocid1.<type>.<realm>.<region>.<60 lower-case base32 chars>``, the layout of regional OCIDs."""
    realm, region_part = _ocid_location(region)
    unique = base64.b32encode(secrets.token_bytes(40)).decode().lower()[:59]
    return f"ocid1.{resource_type}.{realm}.{region_part}.a{unique}"


@functools.lru_cache(maxsize=16)
def _ocid_location(region: str) -> tuple[str, str]:
    """The realm (the SDK's region table; oc1 for regions it does not know) and the region's part of an OCID."""
    import oci.regions  # the SDK's region tables; imported when the first OCID is made, not with the package

    name = oci.regions.REGIONS_SHORT_NAMES.get(region, region)  # a region key such as "fra" names its region
    realm = oci.regions.REGION_REALMS.get(name, "oc1")
    return realm, _THREE_CHARACTER_REGIONS.get(name, name)


def new_request_id(client_request_id: str | None = None) -> str:
    """The ``opc-request-id`` the service answers with: "If provided, the returned request ID will include this
    value" (the SDK's docstring); ``<client's>/<32 hex>/<32 hex>``, the shape of the service's answers."""
    first = client_request_id or uuid.uuid4().hex.upper()
    return f"{first}/{uuid.uuid4().hex.upper()}/{uuid.uuid4().hex.upper()}"
