"""Throughput and memory of ``nids predict --engine dask`` on an input larger than a worker's memory limit.

Builds, at run time and under a temporary folder (never committed), a Parquet input by repeating the
rows of the real UNSW-NB15 file (NIDS_DATA_DIR) ``--repeats`` times, one file per repeat, several row
groups per file; trains a Random Forest (``--trees`` trees on ``--max-train-rows`` rows); then scores the
input with the Dask engine (:func:`nids.scale.score_files`, what the CLI runs) on a LocalCluster of 1 and
of 2 single-threaded worker processes, each with ``--memory-limit``. Partitions are ``--blocksize`` of
Parquet data, so no worker ever holds more than a few partitions of the input.

Prints one table: rows/s (input rows over the wall time of both passes and the summary, cluster start
excluded), the time of each pass, and the peak resident memory of every worker process
(``VmHWM`` read on each worker with ``client.run`` at the end) against the limit, and whether any
worker was restarted (Dask's nanny kills a worker that passes 95% of its limit). The input's size in
memory (pandas, deep) is printed next to the limit: it must be at least 5x the limit.

Usage::

    NIDS_DATA_DIR=/path/to/data .venv/bin/python benchmarks/bench_dask.py                 # 112 repeats, 640 MiB
    NIDS_DATA_DIR=/path/to/data .venv/bin/python benchmarks/bench_dask.py --repeats 8 --workers 2
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dask.utils import format_bytes, parse_bytes  # noqa: E402

from nids import config  # noqa: E402
from nids.datasets import load_dataset  # noqa: E402
from nids.datasets.io import read_table  # noqa: E402
from nids.experiments import run_experiment  # noqa: E402
from nids.models.forest import ForestConfig  # noqa: E402
from nids.scale import dask_client, score_files  # noqa: E402
from nids.training import TrainConfig  # noqa: E402


def _peak_rss() -> int:
    """The worker process's peak resident memory: ``VmHWM`` of its own address space.

    Not ``ru_maxrss``: Linux carries that across the ``exec`` of a spawned worker, so it would report
    the parent's (this script's) memory at the time of the fork.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=112, help="copies of the real file's rows in the input")
    parser.add_argument("--memory-limit", default="640MiB", help="memory limit of each worker")
    parser.add_argument("--blocksize", default="512KiB", help="Parquet data per partition")
    parser.add_argument("--row-group", type=int, default=5_000, help="rows per Parquet row group of the input")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--trees", type=int, default=20)
    parser.add_argument("--max-train-rows", type=int, default=20_000)
    parser.add_argument("--tmp", default=None, help="folder for the generated input (default: a new one in /tmp)")
    args = parser.parse_args()

    limit = parse_bytes(args.memory_limit)
    tmp = Path(args.tmp or tempfile.mkdtemp(prefix="nids-bench-dask-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        frame, _ = read_table(config.data_dir() / "unsw-nb15" / "UNSW_NB15_training-set.zip")
        dataset = load_dataset("unsw-nb15")
        cfg = TrainConfig(forest=ForestConfig(n_estimators=args.trees))
        model = run_experiment(dataset, "rf", "multiclass", "dedup", 0, cfg, max_train_rows=args.max_train_rows).detector
        model_dir = model.save(tmp / "rf")
        start = time.perf_counter()
        folder = tmp / "input"
        folder.mkdir(exist_ok=True)
        for i in range(args.repeats):
            frame.to_parquet(folder / f"flows-{i:04d}.parquet", index=False, row_group_size=args.row_group)
        files = sorted(folder.iterdir())
        rows = len(frame) * args.repeats
        in_memory = int(frame.memory_usage(deep=True).sum()) * args.repeats
        on_disk = sum(p.stat().st_size for p in files)
        print(
            f"input: {rows:,} rows in {len(files)} Parquet files ({format_bytes(on_disk)} on disk, "
            f"{format_bytes(in_memory)} as pandas frames) written in {time.perf_counter() - start:.0f} s; "
            f"worker memory limit {format_bytes(limit)}: input in memory = {in_memory / limit:.1f}x the limit"
        )
        print(f"model: rf, {args.trees} trees, trained on {args.max_train_rows:,} rows; partitions of {args.blocksize}")
        if in_memory < 5 * limit:
            print("WARNING: the input is less than 5x the memory limit; raise --repeats")

        table = []
        for n in args.workers:
            out = tmp / f"out-{n}"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            load_before = _load()
            started = time.perf_counter()
            with dask_client(n, None, args.memory_limit) as client:
                client.wait_for_workers(n)
                boot = time.perf_counter() - started
                before = set(client.scheduler_info(n_workers=-1)["workers"])
                t0 = time.perf_counter()
                _plans, summary = score_files(client, str(model_dir), files, out, parse_bytes(args.blocksize), False)
                wall = time.perf_counter() - t0
                after = set(client.scheduler_info(n_workers=-1)["workers"])
                peaks = sorted(client.run(_peak_rss).values())
            written = sum(summary["rows_by_source"].values())
            assert written == rows, (written, rows)
            table.append(
                {
                    "workers": n,
                    "rows": f"{written:,}",
                    "partitions": summary["partitions"],
                    "cluster start s": f"{boot:.1f}",
                    "inspect s": f"{summary['seconds']['inspect']:.1f}",
                    "score+write s": f"{summary['seconds']['score']:.1f}",
                    "summary s": f"{summary['seconds']['summary']:.1f}",
                    "total s": f"{wall:.1f}",
                    "rows/s": f"{rows / wall:,.0f}",
                    "peak RSS per worker": ", ".join(format_bytes(p) for p in peaks),
                    "peak / limit": ", ".join(f"{p / limit:.0%}" for p in peaks),
                    "workers restarted": len(before ^ after) // 2 if before != after else 0,
                    "load before / after": f"{load_before} / {_load()}",
                }
            )
            shutil.rmtree(out, ignore_errors=True)
        from tabulate import tabulate

        print(tabulate(table, headers="keys", tablefmt="github"))
        print(f"machine: {os.cpu_count()} cores (contended: other jobs share it); load average now {_load()}")
        print(f"predicted (last run): {summary['predicted']}")
    finally:
        if not args.tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
