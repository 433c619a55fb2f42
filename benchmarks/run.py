"""Time grader at the scale of a course and of a MOOC, and `grader check` on one file.

For each N: generate N synthetic submissions (benchmarks/generate.py; cached in --work), run
`grader grade` on them with every report as a user would, and measure

* wall time and submissions per second;
* CPU seconds of the whole process tree (main process, forkserver, workers);
* peak memory: the sum of each process's peak RSS (an upper bound of the tree's peak), and the
  main process's own peak, which is where results accumulate;
* the bare kernels' CPU time on the same text (benchmarks/kernels.py), and the ratio
  grade CPU / kernel CPU: the overhead, independent of --jobs and of other load on the machine.

Then `grader check FILE`: wall time from process start (median of --repeat runs), the import
time of what it loads, and the same for `grader --help` and `grader rubric lint`.

    python -m benchmarks.run --sizes 1000 10000 --jobs 2

Linux only (it reads /proc for the process tree).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.generate import generate_folder

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RUBRIC = ROOT / "rubrics" / "dl_assignment_14.yaml"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- the process tree ----------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text()
            found.extend(int(c) for c in text.split())
    except OSError:
        pass
    return found


def _sample(pid: int) -> tuple[float, float, int] | None:
    """(user CPU seconds, system CPU seconds, peak RSS in bytes) of one process so far."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    user, system = int(fields[11]) / CLOCK_TICKS, int(fields[12]) / CLOCK_TICKS
    peak = re.search(r"VmHWM:\s+(\d+) kB", status)
    return user, system, int(peak.group(1)) * 1024 if peak else 0


class TreeMonitor:
    """Samples a process and its descendants every `interval` seconds: per-process CPU and peak
    RSS, as last seen (a process's last 0.1 s may go unseen)."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self.seen: dict[int, tuple[float, float, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(self.interval)

    def poll(self) -> None:
        stack = [self.pid]
        while stack:
            pid = stack.pop()
            sample = _sample(pid)
            if sample is not None:
                old = self.seen.get(pid, (0.0, 0.0, 0))
                self.seen[pid] = (
                    max(sample[0], old[0]),
                    max(sample[1], old[1]),
                    max(sample[2], old[2]),
                )
            stack.extend(_children(pid))

    @property
    def user_cpu(self) -> float:
        return sum(user for user, _, _ in self.seen.values())

    @property
    def system_cpu(self) -> float:
        return sum(system for _, system, _ in self.seen.values())

    @property
    def cpu(self) -> float:
        return self.user_cpu + self.system_cpu

    @property
    def main_cpu(self) -> float:
        user, system, _ = self.seen.get(self.pid, (0.0, 0.0, 0))
        return user + system

    @property
    def peak_rss(self) -> int:
        return sum(peak for _, _, peak in self.seen.values())

    @property
    def main_peak_rss(self) -> int:
        return self.seen.get(self.pid, (0.0, 0.0, 0))[2]


def _run_monitored(command: list[str]) -> dict[str, Any]:
    started = time.perf_counter()
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as proc:
        with TreeMonitor(proc.pid) as monitor:
            # Sample once more just before the main process is reaped, when its peak is final.
            while proc.poll() is None:
                monitor.poll()
                time.sleep(0.05)
        _, stderr = proc.communicate()
    wall = time.perf_counter() - started
    if proc.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}):\n{stderr.decode()}")
    return {
        "wall_s": wall,
        "cpu_s": monitor.cpu,
        "user_cpu_s": monitor.user_cpu,
        "system_cpu_s": monitor.system_cpu,
        "main_cpu_s": monitor.main_cpu,
        "peak_rss_mb": monitor.peak_rss / 2**20,
        "main_peak_rss_mb": monitor.main_peak_rss / 2**20,
        "processes": len(monitor.seen),
    }


# --- measurements --------------------------------------------------------------------------


def bench_grade(
    n: int, rubric: Path, work: Path, jobs: int, seed: int, *, kernels: bool = True
) -> dict[str, Any]:
    corpus = work / f"dl-n{n}-s{seed}"
    began = time.perf_counter()
    manifest = generate_folder(rubric, corpus, n, seed=seed)
    generated = time.perf_counter() - began
    out = work / f"out-n{n}-j{jobs}"
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-m", "grader", "grade", str(corpus), "-r", str(rubric)]
    command += ["--out", str(out), "--quiet", "--jobs", str(jobs)]
    grade = _run_monitored(command)
    kernel: dict[str, Any] = {"kernel_cpu_s": None, "kernel_ratio": None, "units": None}
    if kernels:
        timed = json.loads(
            subprocess.run(
                [sys.executable, "-m", "benchmarks.kernels", str(corpus), str(rubric)],
                check=True,
                capture_output=True,
                text=True,
                cwd=ROOT,
            ).stdout
        )
        kernel = {
            "kernel_cpu_s": timed["kernel_cpu_s"],
            "kernel_ratio": grade["cpu_s"] / timed["kernel_cpu_s"],
            "units": timed["units"],
        }
    report_bytes = sum(p.stat().st_size for p in out.iterdir())
    return {
        "n": n,
        "jobs": jobs,
        "corpus_mb": int(manifest["bytes"]) / 2**20,  # type: ignore[call-overload]
        "corpus_words": manifest["words"],
        "generate_s": generated,
        **grade,
        "submissions_per_s": n / grade["wall_s"],
        **kernel,
        "reports_mb": report_bytes / 2**20,
    }


def _median_wall(command: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        subprocess.run(command, check=False, capture_output=True)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def _import_time(module: str, repeat: int) -> tuple[float, list[str]]:
    """Median cumulative import time of `module` (-X importtime), and which heavy libraries it
    pulled in."""
    times = []
    heavy: set[str] = set()
    for _ in range(repeat):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            capture_output=True,
            text=True,
            check=True,
        )
        for line in done.stderr.splitlines():
            parts = line.split("|")
            if len(parts) == 3:
                name = parts[2].strip()
                if name in {"sklearn", "scipy", "numpy", "rapidfuzz", "pydantic", "typer"}:
                    heavy.add(name)
                if name == module:
                    times.append(int(parts[1]) / 1e6)
    return statistics.median(times), sorted(heavy)


def bench_commands(rubric: Path, sample: Path, repeat: int) -> dict[str, Any]:
    grader = [sys.executable, "-m", "grader"]
    results: dict[str, Any] = {
        "python_startup_s": _median_wall([sys.executable, "-c", "pass"], repeat),
        "check_s": _median_wall([*grader, "check", str(sample), "-r", str(rubric)], repeat),
        "help_s": _median_wall([*grader, "--help"], repeat),
        "lint_s": _median_wall([*grader, "rubric", "lint", str(rubric)], repeat),
    }
    for module in ("grader.cli", "grader.grading"):
        seconds, heavy = _import_time(module, repeat)
        results[f"import {module}"] = {"s": seconds, "loads": heavy}
    return results


# --- output --------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        match = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = match.group(1) if match else cpu
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
    }


def markdown(rows: list[dict[str, Any]], commands: dict[str, Any] | None) -> str:
    lines = [
        "| N | jobs | wall | submissions/s | CPU (user + system) | peak RSS (all / main) "
        "| kernel CPU | ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['n']:,} | {r['jobs']} | {r['wall_s']:.1f} s | {r['submissions_per_s']:.0f} | "
            f"{r['cpu_s']:.1f} s ({r['user_cpu_s']:.1f} + {r['system_cpu_s']:.1f}) | "
            f"{r['peak_rss_mb']:.0f} / {r['main_peak_rss_mb']:.0f} MB | "
            + (
                f"{r['kernel_cpu_s']:.1f} s | {r['kernel_ratio']:.1f}× |"
                if r["kernel_cpu_s"] is not None
                else "not run | |"
            )
        )
    if commands:
        lines += ["", "| command | wall (median) |", "|---|---:|"]
        lines.append(f"| `python -c pass` | {commands['python_startup_s']:.2f} s |")
        lines.append(f"| `grader check FILE` | {commands['check_s']:.2f} s |")
        lines.append(f"| `grader --help` | {commands['help_s']:.2f} s |")
        lines.append(f"| `grader rubric lint RUBRIC` | {commands['lint_s']:.2f} s |")
        for module in ("grader.cli", "grader.grading"):
            entry = commands[f"import {module}"]
            lines.append(
                f"| `import {module}` | {entry['s']:.2f} s (loads {', '.join(entry['loads'])}) |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--rubric", type=Path, default=DEFAULT_RUBRIC)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=Path("/tmp/grader-bench"))
    parser.add_argument("--repeat", type=int, default=5, help="Runs of each short command.")
    parser.add_argument("--no-commands", action="store_true", help="Skip the check timings.")
    parser.add_argument("--no-kernels", action="store_true", help="Skip the kernel timings.")
    parser.add_argument("--json", type=Path, help="Also write the raw figures here.")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    before = machine()
    rows = []
    for n in args.sizes:
        rows.append(
            bench_grade(
                n, args.rubric, args.work, args.jobs, args.seed, kernels=not args.no_kernels
            )
        )
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    commands = None
    if not args.no_commands:
        sample = ROOT / "submissions" / "chloe_average.md"
        commands = bench_commands(args.rubric, sample, args.repeat)
    after = machine()
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": before,
                    "load_after": after["load_average"],
                    "rows": rows,
                    "commands": commands,
                },
                indent=2,
            )
            + "\n"
        )
    print(
        f"{before['cpu']}, {before['cores']} cores, Python {before['python']}; "
        f"load average {before['load_average'][0]:.1f} before, {after['load_average'][0]:.1f} after\n"
    )
    print(markdown(rows, commands))
    return 0


if __name__ == "__main__":
    sys.exit(main())
