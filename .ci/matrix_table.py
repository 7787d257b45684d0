"""Print the compat matrix (case x Airflow version, with durations) from the JUnit files of .ci/airflow_matrix.

Usage: python3 .ci/matrix_table.py RESULTS_DIR MINOR [MINOR ...]; a RESULTS_DIR/3.3.xml from the main
suite adds the 3.3 column (only the cases the older versions ran are shown).
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def outcomes(junit: Path) -> dict[str, str]:
    """``test name -> "pass 4.8 s"`` (or fail/skip) for every test case in a JUnit file."""
    cells: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            verdict = "FAIL"
        elif case.find("skipped") is not None:
            verdict = "skip"
        else:
            verdict = "pass"
        cells[name] = f"{verdict} {float(case.get('time', 0)):.1f} s"
    return cells


def session_seconds(junit: Path) -> float:
    """The whole pytest session's wall time, collection and fixtures included."""
    return sum(float(suite.get("time", 0)) for suite in ET.parse(junit).getroot().iter("testsuite"))


def main(results: Path, minors: list[str]) -> None:
    columns = {minor: outcomes(results / f"{minor}.xml") for minor in minors if (results / f"{minor}.xml").exists()}
    if (results / "3.3.xml").exists():
        columns["3.3"] = outcomes(results / "3.3.xml")
    cases = sorted({name for minor in minors for name in columns.get(minor, {})})
    header = ["case", *(f"Airflow {minor}" for minor in columns)]
    rows = [[case, *(column.get(case, "-") for column in columns.values())] for case in cases]
    installs = [
        f"{(results / f'{minor}.install_seconds').read_text().strip()} s"
        if (results / f"{minor}.install_seconds").exists()
        else "-"
        for minor in columns
    ]
    sessions = [f"{session_seconds(results / f'{minor}.xml'):.0f} s" if minor in minors else "-" for minor in columns]
    rows.append(["(compat test session)", *sessions])  # 3.3's file is the whole suite's
    rows.append(["(fresh venv install)", *installs])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
