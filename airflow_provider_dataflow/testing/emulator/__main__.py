"""``python -m airflow_provider_dataflow.testing.emulator``: serve until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
from pathlib import Path

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
        print(f"Data Flow emulator listening on {emulator.url}", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
