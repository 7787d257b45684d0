"""Everything one emulator instance holds, shared by the API handlers and the control API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from airflow_provider_dataflow.testing.emulator.applications import ApplicationStore
from airflow_provider_dataflow.testing.emulator.behaviours import BehaviourBook
from airflow_provider_dataflow.testing.emulator.capacity import Capacity
from airflow_provider_dataflow.testing.emulator.compartments import CompartmentScope
from airflow_provider_dataflow.testing.emulator.faults import FaultInjector
from airflow_provider_dataflow.testing.emulator.journal import Journal
from airflow_provider_dataflow.testing.emulator.limits import TenancyLimits
from airflow_provider_dataflow.testing.emulator.log_catalog import LogCatalog
from airflow_provider_dataflow.testing.emulator.pool_settings import PoolSettings
from airflow_provider_dataflow.testing.emulator.pools import PoolStore
from airflow_provider_dataflow.testing.emulator.runs import RunStore
from airflow_provider_dataflow.testing.emulator.settings import EmulatorSettings
from airflow_provider_dataflow.testing.emulator.signatures import KeyRegistry
from airflow_provider_dataflow.testing.emulator.stats import RequestCounters
from airflow_provider_dataflow.testing.emulator.tag_namespaces import TagNamespaces
from airflow_provider_dataflow.testing.emulator.work_requests import WorkRequestStore


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
    pool_settings: PoolSettings = field(default_factory=lambda: PoolSettings(start_seconds=2.0, stop_seconds=0.5))
    limits: TenancyLimits = field(default_factory=TenancyLimits)
    work_requests: WorkRequestStore = field(init=False)
    pools: PoolStore = field(init=False)
    capacity: Capacity = field(init=False)

    def __post_init__(self) -> None:
        self.work_requests = WorkRequestStore(self.region)
        self.pools = PoolStore(self.work_requests)
        self.capacity = Capacity(
            self.runs,
            self.pools,
            self.limits,
            pool_timing=lambda pool: self.pool_settings.timing_for(pool, self.behaviours.all()),
            minute_seconds=lambda: self.settings.timing.minute_seconds,
        )

    def reset(self) -> None:
        """Drop runs, applications, pools, work requests, faults, behaviours, the journal and where logs are;
        keys, settings, the OCPU limit, compartments, tag namespaces and counters stay."""
        self.runs.clear()
        self.applications.clear()
        self.pools.clear()
        self.work_requests.clear()
        self.capacity.clear()
        self.faults.clear()
        self.behaviours.clear()
        self.journal.clear()
        self.logs.clear()
