"""A person triggers the manual example from the Airflow UI: fills the params form, submits, run succeeds.

Drives Debian's Chromium with Playwright (no browser download). Screenshots of the filled form and of
the finished run are kept in ``$ARTIFACTS_DIR`` (default ``.artifacts/``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dataflow.testing.airflow_stack import AirflowStack
from airflow_provider_dataflow.testing.emulator import DataflowEmulator

pytestmark = [pytest.mark.system, pytest.mark.browser]

DAG_ID = "example_dataflow_manual"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The machine's network is closed: without these, Chromium keeps trying to reach Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def page() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("no Chromium at /usr/bin/chromium: `apt-get install chromium` enables the browser test")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield browser.new_page()
        finally:
            browser.close()


def _artifacts() -> Path:
    directory = Path(os.environ.get("ARTIFACTS_DIR") or Path(__file__).resolve().parents[2] / ".artifacts")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _spinbutton(page: Any, param: str) -> Any:
    """Chakra number inputs have generated ids; their step buttons name the param and point at them."""
    input_id = page.locator(f'[id="number-input:element_{param}:inc"]').get_attribute("aria-controls")
    return page.locator(f'[id="{input_id}"]')


def test_trigger_form_runs_the_dag_with_the_values_typed(
    stack: AirflowStack, emulator: DataflowEmulator, page: Any
) -> None:
    stack.api.wait_for_dag(DAG_ID)
    page.goto(f"{stack.url}/dags/{DAG_ID}", wait_until="networkidle")
    page.get_by_test_id("trigger-dag-button").click()

    page.locator("#element_input_path").fill("oci://raw@ns/browser/")
    page.locator("div:has(> input[name=element_mode])").click()
    page.get_by_role("option", name="full").click()
    for param, value in (("num_executors", "9"), ("shuffle_partitions", "24")):
        field = _spinbutton(page, param)
        field.fill(value)
        field.press("Tab")
    form_shot = _artifacts() / "trigger-form-filled.png"
    page.screenshot(path=str(form_shot), full_page=True)
    page.get_by_test_id("trigger-dag-submit").click()

    run = _wait_for_new_run(stack)
    assert stack.api.wait_for_dag_run(DAG_ID, run["dag_run_id"]) == "success"
    page.goto(f"{stack.url}/dags/{DAG_ID}/runs/{run['dag_run_id']}", wait_until="networkidle")
    done_shot = _artifacts() / "trigger-form-run-succeeded.png"
    page.screenshot(path=str(done_shot), full_page=True)
    print(f"screenshots: {form_shot} {done_shot}")

    (create,) = [
        entry["body"]
        for entry in emulator.control.journal()
        if entry["method"] == "POST" and entry["path"].endswith("/runs") and entry["body"].get("numExecutors") == 9
    ]
    assert "--mode full" in create["execute"]
    assert "spark.sql.shuffle.partitions=24" in create["execute"]
    assert "--input oci://raw@ns/browser/" in create["execute"]


def _wait_for_new_run(stack: AirflowStack, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = stack.api.get(f"/dags/{DAG_ID}/dagRuns", params={"order_by": "-run_after"})["dag_runs"]
        mine = [run for run in runs if run.get("conf", {}).get("num_executors") == 9]
        if mine:
            return dict(mine[0])
        time.sleep(0.5)
    raise AssertionError("the form did not create a DAG run")
