"""Everything one emulator instance holds, shared by the API handlers and the control API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from airflow_provider_dataflow.testing.emulator.applications import ApplicationStore
from airflow_provider_dataflow.testing.emulator.behaviours import BehaviourBook
from airflow_provider_dataflow.testing.emulator.compartments import CompartmentScope
from airflow_provider_dataflow.testing.emulator.faults import FaultInjector
from airflow_provider_dataflow.testing.emulator.journal import Journal
from airflow_provider_dataflow.testing.emulator.log_catalog import LogCatalog
from airflow_provider_dataflow.testing.emulator.runs import RunStore
from airflow_provider_dataflow.testing.emulator.settings import EmulatorSettings
from airflow_provider_dataflow.testing.emulator.signatures import KeyRegistry
from airflow_provider_dataflow.testing.emulator.stats import RequestCounters
from airflow_provider_dataflow.testing.emulator.tag_namespaces import TagNamespaces


class PrincipalServicesControl(Protocol):
    """What the control API drives when credential services run beside the emulator (testing/principals)."""

    def status(self) -> dict[str, Any]: ...

    def configure(self, service: str, payload: Mapping[str, Any]) -> dict[str, Any]: ...

    def setup(self, payload: Mapping[str, Any]) -> dict[str, Any]: ...


@dataclass
class EmulatorState:
    settings: EmulatorSettings
    region: str = "us-ashburn-1"
    keys: KeyRegistry = field(default_factory=KeyRegistry)
    runs: RunStore = field(default_factory=RunStore)
    applications: ApplicationStore = field(default_factory=ApplicationStore)
    behaviours: BehaviourBook = field(default_factory=BehaviourBook)
    faults: FaultInjector = field(default_factory=FaultInjector)
    journal: Journal = field(default_factory=Journal)
    counters: RequestCounters = field(default_factory=RequestCounters)
    principals: PrincipalServicesControl | None = None
    compartments: CompartmentScope = field(default_factory=CompartmentScope)
    tag_namespaces: TagNamespaces = field(default_factory=TagNamespaces)
    logs: LogCatalog = field(default_factory=LogCatalog)

    def reset(self) -> None:
        """Drop runs, applications, faults, behaviours, the journal and where logs are; keys, settings,
        compartments, tag namespaces and counters stay."""
        self.runs.clear()
        self.applications.clear()
        self.faults.clear()
        self.behaviours.clear()
        self.journal.clear()
        self.logs.clear()
