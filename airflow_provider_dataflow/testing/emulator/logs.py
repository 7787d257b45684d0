"""The application's stdout/stderr logs as Data Flow serves them: gzip files listed per run."""

from __future__ import annotations

import gzip
import time
from dataclasses import dataclass

from airflow_provider_dataflow.testing.emulator.behaviours import Behaviour


@dataclass(frozen=True)
class LogFile:
    name: str
    source: str
    type: str
    content: bytes
    time_created: float


@dataclass(frozen=True)
class RunFacts:
    """What the log text mentions about a run."""

    run_id: str
    display_name: str
    language: str | None
    spark_version: str | None
    started_at: float
    ended_at: float


def run_logs(facts: RunFacts, behaviour: Behaviour, state: str) -> list[LogFile]:
    """Both application logs of a run that has ended (the caller decides when they exist), created when it
    ended; a FAILED run's stderr ends with the failure."""
    stdout = behaviour.stdout if behaviour.stdout is not None else _default_stdout(facts)
    if behaviour.stderr is not None:
        stderr = list(behaviour.stderr)
    else:
        stderr = _spark_startup(facts)
        if state == "FAILED":
            stderr += _failure(facts, behaviour)
    return [
        _log_file("spark_application_stdout.log.gz", "STDOUT", stdout, facts.ended_at),
        _log_file("spark_application_stderr.log.gz", "STDERR", stderr, facts.ended_at),
    ]


def _log_file(name: str, stream: str, lines: list[str] | tuple[str, ...], created: float) -> LogFile:
    text = "".join(f"{line}\n" for line in lines).encode()
    return LogFile(name, "APPLICATION", stream, gzip.compress(text, mtime=0), created)


def _log4j_time(epoch_seconds: float) -> str:
    return time.strftime("%y/%m/%d %H:%M:%S", time.gmtime(epoch_seconds))


def _default_stdout(facts: RunFacts) -> list[str]:
    return [
        f"Starting {facts.display_name}",
        "Read 1048576 rows from oci://input-bucket@namespace/data/",
        "Wrote 262144 rows to oci://output-bucket@namespace/results/",
        f"{facts.display_name} finished",
    ]


def _spark_startup(facts: RunFacts) -> list[str]:
    stamp = _log4j_time(facts.started_at)
    return [
        f"{stamp} INFO SparkContext: Running Spark version {facts.spark_version or '3.5.0'}",
        f"{stamp} INFO SparkContext: Submitted application: {facts.display_name}",
        f"{stamp} INFO ResourceUtils: Data Flow run {facts.run_id}",
    ]


def _failure(facts: RunFacts, behaviour: Behaviour) -> list[str]:
    stamp = _log4j_time(facts.started_at)
    if facts.language == "PYTHON":
        return [
            "Traceback (most recent call last):",
            '  File "/opt/dataflow/main.py", line 42, in <module>',
            "    main()",
            f"RuntimeError: {behaviour.failure_details}",
            f"{stamp} ERROR SparkContext: Error initializing SparkContext.",
        ]
    return [
        f"{stamp} ERROR ApplicationMaster: User class threw exception: java.lang.RuntimeException: "
        f"{behaviour.failure_details}",
        f"java.lang.RuntimeException: {behaviour.failure_details}",
        "\tat com.example.Main.main(Main.java:42)",
        "\tat java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)",
    ]
