"""Where the time and the memory of `ocsol indicators` go, stage by stage (not a test).

Runs the whole pipeline (compute + write) of a configuration in this process and samples the
resident set every 20 ms, attributing it to the stage running at that moment. Usage::

    python benchmarks/mem_ocsge.py benchmarks/out/d41_n1000000_s41/ocsol.toml /tmp/out

Prints the wall time, the process's peak (``VmHWM``), the load average, and per stage its
wall time and the peak resident set seen during it. Stages nest: "1-4 engine as a whole" holds
stages 1 to 4 and the time the engine waits for the next batch from the reader thread (reading,
decoding, pairing the new vintage), which no other stage shows.
"""

from __future__ import annotations

import collections
import functools
import os
import resource
import sys
import threading
import time

from ocsol import change, indicators, pipeline

STAGES = [
    (pipeline, "load_territories", "0 territories"),
    (change, "compare_vintages", "1-4 engine as a whole (with the waits for the reader thread)"),
    (change._Pairing, "add_from", "1 old vintage: cut each decoded batch (read + decode one batch ahead)"),
    (change._Pairing, "start_to", "2 index the old vintage's hashes"),
    (change._Pairing, "add_to", "3 new vintage: pair from WKB, cut the rest"),
    (change._Pairing, "finish", "4 overlay the unpaired polygons, sum the pieces"),
    (indicators, "build_tables", "5 tables at every level"),
    (pipeline, "write_results", "6 write the outputs"),
]


def rss_gb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024**2
    return float("nan")


def main() -> None:
    config, out = sys.argv[1], sys.argv[2]
    stack = ["(other)"]
    peak: dict[str, float] = collections.defaultdict(float)
    spent: dict[str, float] = collections.defaultdict(float)

    def sample() -> None:
        while True:
            peak[stack[-1]] = max(peak[stack[-1]], rss_gb())
            time.sleep(0.02)

    def wrap(obj, name: str, label: str) -> None:
        f = getattr(obj, name)

        @functools.wraps(f)
        def g(*a, **k):
            stack.append(label)
            t = time.perf_counter()
            try:
                return f(*a, **k)
            finally:
                spent[label] += time.perf_counter() - t
                stack.pop()
        setattr(obj, name, g)

    for obj, name, label in STAGES:
        wrap(obj, name, label)
    threading.Thread(target=sample, daemon=True).start()
    t0, c0 = time.perf_counter(), time.process_time()
    pipeline.write_results(pipeline.compute(config), out)
    cpu = time.process_time() - c0
    print(f"{config}: wall {time.perf_counter() - t0:.1f} s, CPU {cpu:.1f} s (all threads), peak (VmHWM) "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2:.2f} GB, load {os.getloadavg()[0]:.1f}")
    for label in sorted(peak):
        print(f"  {label:75s} {spent.get(label, 0):6.1f} s  peak RSS {peak[label]:.2f} GB")


if __name__ == "__main__":
    main()
