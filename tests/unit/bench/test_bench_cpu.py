"""CPU per request per process: readings, deltas, the per-request figures and their table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psutil

from bench.cpu import (
    LAUNCHER,
    LOAD,
    CellCpu,
    Part,
    cpu_deltas,
    cpu_seconds,
    cpu_table,
    recorded_parts,
)
from bench.wrk import LoadResult, _run_measured

# Burns `argv[1]` seconds of CPU, then prints "done".
BURN = (
    "import sys, time\nwhile time.process_time() < float(sys.argv[1]):\n    pass\nprint('done')\n"
)


def _result(requests: int, load_cpu_s: float, concurrency: int = 32) -> LoadResult:
    return LoadResult(concurrency, requests, 10.0, 0, 1.0, 2.0, 3.0, 4.0, load_cpu_s)


def test_a_delta_is_the_cpu_used_between_two_readings_of_the_same_process() -> None:
    before = {"broker": (10, 5.0), "worker-1": (11, 2.0)}
    after = {"broker": (10, 6.5), "worker-1": (11, 2.25)}

    assert cpu_deltas(before, after) == {"broker": 1.5, "worker-1": 0.25}


def test_a_process_restarted_or_missing_during_the_cell_has_no_figure() -> None:
    before = {"worker-1": (11, 2.0), "sandbox": (12, 1.0)}
    after = {"worker-1": (99, 0.1), "ingress-1": (13, 3.0)}

    assert cpu_deltas(before, after) == {"worker-1": None, "sandbox": None, "ingress-1": None}


def test_cpu_per_request_is_cpu_seconds_times_1000_over_requests_plus_the_load() -> None:
    cell = CellCpu.of(
        _result(requests=2000, load_cpu_s=0.5),
        {"broker": (10, 5.0), "postgres": (20, 1.0), "sandbox": (30, 0.0)},
        {"broker": (10, 7.0), "postgres": (20, 2.0)},
    )

    per_request = cell.ms_per_request()

    assert per_request == {"broker": 1.0, "postgres": 0.5, "sandbox": None, LOAD: 0.25}
    assert cell.total_ms_per_request == 1.75  # the parts found
    assert cell.busy_cores == 0.35  # 3.5 CPU seconds over the 10 s cell
    figures = cell.as_json()
    assert figures["ms_per_request"] == per_request
    assert figures["cpu_s"]["broker"] == 2.0 and figures["total_ms_per_request"] == 1.75


def test_a_cell_without_requests_has_no_per_request_figures() -> None:
    cell = CellCpu.of(_result(requests=0, load_cpu_s=0.1), {"broker": (1, 0.0)}, {"broker": (1, 1)})

    assert cell.ms_per_request() == {"broker": None, LOAD: None}
    assert cell.total_ms_per_request is None


def test_the_table_has_a_row_per_concurrency_and_a_column_per_process_load_last() -> None:
    first = CellCpu(1, 1000, 10.0, {"broker": 1.0, LOAD: 0.2, "worker-1": 2.0})
    second = CellCpu(128, 4000, 10.0, {"broker": 2.0, LOAD: 0.4, "worker-1": None})

    header, row_1, row_128 = cpu_table([first, second])

    assert header.split() == ["conc", "broker", "worker-1", LOAD, "total", "cores"]
    assert row_1.split() == ["1", "1.00", "2.00", "0.20", "3.20", "0.32"]
    assert row_128.split() == ["128", "0.50", "-", "0.10", "0.60", "0.24"]
    assert len({len(header), len(row_1), len(row_128)}) == 1  # columns line up


def test_a_process_tree_counts_its_ended_children_and_the_process_alone_does_not() -> None:
    me, alone = Part("me", os.getpid()), Part("me", os.getpid(), tree=False)
    tree_before, alone_before = cpu_seconds(me), cpu_seconds(alone)
    assert tree_before is not None and alone_before is not None

    subprocess.run([sys.executable, "-c", BURN, "0.4"], check=True, capture_output=True)

    tree_used = (cpu_seconds(me) or 0.0) - tree_before
    alone_used = (cpu_seconds(alone) or 0.0) - alone_before
    assert tree_used >= 0.3 + alone_used  # 0.4 s burnt; tick-based accounting


def test_a_gone_process_has_no_reading() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()

    assert cpu_seconds(Part("gone", child.pid)) is None


def test_wrk_is_run_to_its_end_with_the_cpu_it_used() -> None:
    returncode, stdout, _, cpu_s = _run_measured([sys.executable, "-c", BURN, "0.3"])

    assert (returncode, stdout) == (0, "done\n")
    assert 0.25 <= cpu_s < 3.0  # 0.3 s burnt


def test_a_running_systems_processes_come_from_its_pid_record_if_still_the_same(
    tmp_path: Path,
) -> None:
    me = psutil.Process()
    records = {
        "worker-1": {"pid": me.pid, "create_time": me.create_time()},
        "broker": {"pid": me.pid, "create_time": me.create_time() - 60},  # pid reused since
    }
    (tmp_path / "launcher.pids").write_text(json.dumps(records))
    (tmp_path / "launcher.lock").write_text(str(me.pid))  # not a launcher's command line

    assert recorded_parts(tmp_path)() == [Part("worker-1", me.pid)]
    assert LAUNCHER not in {part.name for part in recorded_parts(tmp_path / "none")()}
