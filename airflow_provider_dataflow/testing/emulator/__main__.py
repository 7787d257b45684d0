"""``python -m airflow_provider_dataflow.testing.emulator``: serve until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from airflow_provider_dataflow.testing.credentials import generate_test_credentials
from airflow_provider_dataflow.testing.emulator.control import DEFAULT_COMPARTMENT_ID
from airflow_provider_dataflow.testing.emulator.emulator import DataflowEmulator
from airflow_provider_dataflow.testing.emulator.journal import DEFAULT_LIMIT
from airflow_provider_dataflow.testing.principals import PrincipalServices


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m airflow_provider_dataflow.testing.emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True, help="0 picks a free port (printed on start)")
    parser.add_argument("--accepted-seconds", type=float, default=1.0)
    parser.add_argument("--run-seconds", type=float, default=3.0)
    parser.add_argument("--cancel-seconds", type=float, default=0.5)
    parser.add_argument("--minute-seconds", type=float, default=60.0, help="real seconds per emulated minute")
    parser.add_argument("--pool-start-seconds", type=float, default=2.0, help="a pool's cold start")
    parser.add_argument("--pool-stop-seconds", type=float, default=0.5, help="a pool's stop, create or delete")
    parser.add_argument(
        "--ocpu-limit", type=float, default=None, help="OCPUs the tenancy's runs outside pools may hold at once"
    )
    parser.add_argument("--region", default="us-ashburn-1")
    parser.add_argument(
        "--public-key",
        action="extend",
        nargs="+",
        default=[],
        metavar="KEY_ID=PATH.pem",
        help="trust these public keys for these key ids (repeatable)",
    )
    parser.add_argument(
        "--journal-limit",
        type=int,
        default=DEFAULT_LIMIT,
        help=f"keep the newest N journal entries (default {DEFAULT_LIMIT}); 0 records nothing",
    )
    parser.add_argument(
        "--principals",
        action="store_true",
        help="also run the credential services for principal signers (control API: /_emulator/principals)",
    )
    parser.add_argument(
        "--token-seconds", type=float, default=3600.0, help="initial lifetime of the principals' tokens"
    )
    parser.add_argument(
        "--compartment",
        action="append",
        metavar="OCID",
        help="allow only these compartments (repeatable); creates and lists naming another get 404",
    )
    parser.add_argument(
        "--tag-namespace",
        action="append",
        metavar="NAMESPACE=KEY[,KEY...]",
        help="the tenancy's defined tags (repeatable); creates and updates naming others get 400",
    )
    parser.add_argument(
        "--airflow-connection",
        type=Path,
        metavar="PATH",
        help="generate a throw-away API key, trust it, and write an oci_dataflow connection that signs with it "
        "to PATH as JSON (for AIRFLOW_CONN_<ID> or `airflow connections add ID --conn-json`; private key "
        "included, mode 0600, removed on exit)",
    )
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    if args.journal_limit < 0:
        parser.error("--journal-limit must be 0 (record nothing) or more")
    args.tag_namespaces = None
    if args.tag_namespace is not None:
        args.tag_namespaces = {}
        for entry in args.tag_namespace:
            namespace, separator, keys = entry.partition("=")
            if not separator or not namespace:
                parser.error(f"--tag-namespace {entry!r} must be NAMESPACE=KEY[,KEY...]")
            args.tag_namespaces[namespace] = [key for key in keys.split(",") if key]
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    emulator = DataflowEmulator(
        host=args.host,
        port=args.port,
        accepted_seconds=args.accepted_seconds,
        run_seconds=args.run_seconds,
        cancel_seconds=args.cancel_seconds,
        minute_seconds=args.minute_seconds,
        region=args.region,
        journal_limit=args.journal_limit,
        compartments=args.compartment,
        pool_start_seconds=args.pool_start_seconds,
        pool_stop_seconds=args.pool_stop_seconds,
        ocpu_limit=args.ocpu_limit,
        tag_namespaces=args.tag_namespaces,
    )
    for entry in args.public_key:
        key_id, separator, path = entry.rpartition("=")
        if not separator or not key_id:
            print(f"--public-key {entry!r} must be KEY_ID=PATH.pem", file=sys.stderr)
            return 2
        emulator.state.keys.register(key_id, Path(path).read_text())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with emulator, contextlib.ExitStack() as extras:
        if args.principals:
            extras.enter_context(PrincipalServices(emulator, token_seconds=args.token_seconds))
        if args.airflow_connection is not None:
            compartment_id = (args.compartment or [DEFAULT_COMPARTMENT_ID])[0]
            _write_airflow_connection(args.airflow_connection, emulator, compartment_id, args.region)
            extras.callback(args.airflow_connection.unlink, missing_ok=True)
        print(f"Data Flow emulator listening on {emulator.url}", flush=True)
        stop.wait()
    return 0


def _write_airflow_connection(path: Path, emulator: DataflowEmulator, compartment_id: str, region: str) -> None:
    """The key and URL exist only in this process: hand them to Airflow in another one (a CLI, a stack).

    Written whole (a temporary file renamed) before the "listening" line, so a reader that waits for the
    line never sees half a file; readable by the owner only, since it holds a private key.
    """
    credentials = generate_test_credentials()
    emulator.register_credentials(credentials)
    text = credentials.airflow_connection_json(emulator.url, compartment_id, region)
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)  # O_EXCL below: the mode is this file's, not a leftover's
    with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
        file.write(text + "\n")
    partial.replace(path)


if __name__ == "__main__":
    sys.exit(main())
