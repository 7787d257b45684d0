"""Derive run fields from an ``execute`` string, as Data Flow does from spark-submit syntax.

The options are those Oracle's "Spark-Submit Functionality in Data Flow" lists as supported; each
one other than ``--class`` becomes the Spark property spark-submit itself would set. The main file is
"main-application.jar or main-application.py" (the same page); SQL and Scala applications name their
file with ``fileUri`` and ``language`` instead.
"""

from __future__ import annotations

import functools
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from types import MappingProxyType

from airflow_provider_dataflow.testing.emulator.errors import invalid_parameter

# An application's language from its file (register_application's default); execute takes only the first two.
LANGUAGE_BY_EXTENSION = {".py": "PYTHON", ".jar": "JAVA", ".sql": "SQL", ".scala": "SCALA"}
EXECUTE_LANGUAGES = {".py": "PYTHON", ".jar": "JAVA"}

# The Spark property spark-submit sets from each option (Spark's SparkSubmitArguments).
_PROPERTY_OPTIONS = {
    "--jars": "spark.jars",
    "--files": "spark.files",
    "--py-files": "spark.submit.pyFiles",
    "--packages": "spark.jars.packages",
    "--driver-java-options": "spark.driver.extraJavaOptions",
}
SUPPORTED_OPTIONS = ("--class", "--conf", *_PROPERTY_OPTIONS)


@dataclass(frozen=True)
class SparkSubmit:
    """Immutable all the way down, so one parse can serve every run created from the same string."""

    file_uri: str
    language: str
    class_name: str | None = None
    configuration: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    arguments: tuple[str, ...] = ()


@functools.lru_cache(maxsize=1024)  # benchmarks create thousands of runs from a handful of strings
def parse_execute(execute: str) -> SparkSubmit:
    """Options first (see ``SUPPORTED_OPTIONS``), then the main file, then its arguments (which may look
    like options: they belong to the application)."""
    try:
        tokens = shlex.split(execute)
    except ValueError as exc:
        raise invalid_parameter(f"execute is not valid spark-submit syntax: {exc}") from None
    class_name: str | None = None
    configuration: dict[str, str] = {}
    position = 0
    while position < len(tokens) and tokens[position].startswith("--"):
        option, has_inline, inline_value = tokens[position].partition("=")
        if has_inline:
            value = inline_value
            position += 1
        elif position + 1 < len(tokens):
            value = tokens[position + 1]
            position += 2
        else:
            raise invalid_parameter(f"execute: option {option} has no value")
        if option == "--class":
            class_name = value
        elif option == "--conf":
            key, has_equals, conf_value = value.partition("=")
            if not has_equals or not key:
                raise invalid_parameter(f"execute: --conf {value!r} must be key=value")
            configuration[key] = conf_value
        elif option in _PROPERTY_OPTIONS:
            configuration[_PROPERTY_OPTIONS[option]] = value
        else:
            supported = ", ".join(SUPPORTED_OPTIONS)
            raise invalid_parameter(f"execute: unsupported spark-submit option {option}; supported: {supported}")
    if position >= len(tokens):
        raise invalid_parameter("execute has no main application file")
    file_uri = tokens[position]
    language = EXECUTE_LANGUAGES.get(PurePosixPath(file_uri).suffix.lower())
    if language is None:
        raise invalid_parameter(
            f"execute: the main application file {file_uri!r} must be a .jar or a .py file (for SQL or Scala, "
            "create an application with fileUri and language)"
        )
    return SparkSubmit(file_uri, language, class_name, MappingProxyType(configuration), tuple(tokens[position + 1 :]))
