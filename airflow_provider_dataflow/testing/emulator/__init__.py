"""A local OCI Data Flow service that the real oci SDK can talk to over HTTP.

It verifies request signatures, validates bodies, and plays runs through their lifecycle on the
wall clock, with behaviours, faults and a request journal controlled from tests. See docs/emulator.md.
"""

from airflow_provider_dataflow.testing.emulator.control import EmulatorControl, EmulatorControlError
from airflow_provider_dataflow.testing.emulator.emulator import DataflowEmulator
from airflow_provider_dataflow.testing.emulator.process import emulator_process

__all__ = ["DataflowEmulator", "EmulatorControl", "EmulatorControlError", "emulator_process"]
