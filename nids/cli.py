"""The ``nids`` command: data fetch/check, train, predict, explain, bench, and the two prediction apps (app, serve).

Errors a user can cause print one clear ``error:`` line (exit status 2), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nids.errors import NidsError


def _cmd_data_fetch(args: argparse.Namespace) -> int:
    from nids.datasets.fetch import fetch

    mirrors = {args.file: args.mirror} if args.mirror else None
    if args.mirror and not args.file:
        raise NidsError("--mirror needs --file RELPATH (e.g. unsw-nb15/UNSW_NB15_training-set.zip)")
    for path in fetch(args.dataset, args.data_dir, mirrors=mirrors, force=args.force, include_optional=args.all):
        print(f"ok  {path}")
    return 0


def _cmd_data_check(args: argparse.Namespace) -> int:
    from nids.audit import audit
    from nids.datasets import load_file

    dataset = load_file(args.file, args.label_column, args.normal_label)
    prov = dataset.provenance[0]
    print(f"file:      {prov.file}\ndataset:   {dataset.name}\npartition: {prov.partition} ({prov.records:,} records)")
    print(f"sha256:    {prov.sha256}")
    for note in dataset.notes:
        print(f"note:      {note}")
    report = audit(dataset)
    print("\n".join(report.summary_lines()))
    if args.json:
        Path(args.json).write_text(json.dumps({"dataset": dataset.describe(), "audit": report.as_dict()}, indent=1))
        print(f"audit written to {args.json}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from nids.datasets import load_dataset
    from nids.experiments import run_experiment
    from nids.models.forest import ForestConfig
    from nids.training import TrainConfig

    cfg = TrainConfig(
        seed=args.seed,
        epochs=args.epochs,
        batch_size=args.batch_size,
        class_weight=args.class_weight,
        class_weight_power=args.class_weight_power,
        forest=ForestConfig(n_estimators=args.trees),
    )
    dataset = load_dataset(args.dataset, args.data_dir, args.label_column, args.normal_label)
    for note in dataset.notes:
        print(f"note: {note}")
    result = run_experiment(dataset, args.model, args.task, args.protocol, args.seed, cfg, max_train_rows=args.max_train_rows)
    out = result.detector.save(args.out)
    rec = result.record
    print(
        f"{args.model} {args.task} on {dataset.name} ({args.protocol} split, seed {args.seed}): "
        f"accuracy {rec['accuracy']:.4f}  macro-F1 {rec['f1_macro']:.4f}  FAR {rec['far']:.4f}  "
        f"trained in {rec['train_seconds']:.1f} s"
    )
    if args.record:
        from nids.reports import upsert_records

        upsert_records([rec])
    print(f"detector saved to {out}")
    return 0


def _detector_and_flows(args: argparse.Namespace, verb: str):
    """Check ``--output``'s folder, load ``--model`` and read ``--input`` (notes go to stderr)."""
    from nids.apps.core import read_flows
    from nids.detector import Detector

    output = Path(args.output)
    if not output.parent.is_dir():
        raise NidsError(f"--output {output}: expected an existing directory {output.parent}, found none")
    if output.is_dir():
        raise NidsError(f"--output {output} is a folder; expected a file path, e.g. {output / 'verdicts.csv'}")
    if Path(args.input).exists() and output.exists() and output.resolve() == Path(args.input).resolve():
        raise NidsError(f"--output {output} is the input file; expected another path (the input would be overwritten)")
    detector = Detector.load(args.model)
    frame, notes = read_flows(args.input, verb=verb)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return output, detector, frame


def _cmd_predict(args: argparse.Namespace) -> int:
    from nids.scoring import score_flows, with_flows

    if args.engine == "dask":
        from nids.scale import predict_dask

        return predict_dask(args)
    if args.workers is not None or args.scheduler:
        raise NidsError("--workers and --scheduler need --engine dask (the local engine runs in this process)")
    output, detector, frame = _detector_and_flows(args, "score")
    verdicts, notes = score_flows(detector, frame)  # the same function the apps score uploads with
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if args.with_input:  # input columns that clash with verdict columns keep their values as input_<name>
        verdicts = with_flows(frame, verdicts)
    verdicts.to_csv(output, index=False)
    counts = verdicts["predicted"].value_counts().to_dict()
    not_ok = int((verdicts["status"] != "ok").sum())
    print(f"{len(verdicts):,} rows scored -> {args.output}; predicted: {counts}; rows with imputed values: {not_ok}")
    return 0


def _cmd_explain(args: argparse.Namespace) -> int:
    import time

    from nids import explain
    from nids.datasets.io import read_table

    start = time.perf_counter()
    if args.top < 1:
        raise NidsError(f"--top {args.top}: expected a positive number of features")
    output, detector, frame = _detector_and_flows(args, "explain")
    aligned, _ = detector.align(frame)
    background = None
    if detector.kind != "sklearn":
        if args.background:
            background, _ = read_table(args.background)
            if background.empty:
                raise NidsError(f"--background {args.background}: the table has no rows")
        else:
            print(
                f"note: contributions are relative to the mean prediction over {min(len(frame), 50)} of the input rows "
                "(give --background FILE, e.g. training flows, for another reference)",
                file=sys.stderr,
            )
    options = {"budget_s": args.budget, "method": args.explainer, "outputs": "predicted"}
    result = explain.explain(detector, frame, background, **options)
    table = explain.top_contributions(result, args.top)
    table.insert(0, "row", range(1, len(table) + 1))
    table.insert(len(table.columns), "status", detector.row_status(aligned))
    table.to_csv(output, index=False)
    details = result.details
    if details.get("depth_cap") is not None:
        print(
            f"note: the forest was cut at depth {details['depth_cap']} to fit --budget {args.budget:g} s "
            f"(the full forest would take about {details['estimated_seconds_full_forest']:g} s); the cut forest agrees "
            f"with the full one on the top class of {details['fidelity_top_class_agreement']:.0%} of these rows "
            "(explained_probability is the cut forest's, confidence the full forest's)",
            file=sys.stderr,
        )
    for attempt in details.get("attempts", []):
        print(f"note: {attempt['explainer']} failed ({attempt['error']}); used {result.explainer}", file=sys.stderr)
    print(
        f"{len(table):,} rows explained with {result.explainer} (top {min(args.top, len(result.feature_names))} "
        f"features per row) in {time.perf_counter() - start:.1f} s -> {args.output}"
    )
    return 0


def _bench_flows(args: argparse.Namespace, detector):
    """The flows to time: ``--input``, else the test rows of the detector's own dataset and split."""
    if args.input:
        from nids.apps.core import read_flows

        frame, notes = read_flows(args.input, verb="time")
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
        return frame, args.input
    from nids.datasets import LOADERS, load_dataset
    from nids.splits import make_split

    name, split = detector.metadata.get("dataset"), detector.metadata.get("split") or {}
    if name not in LOADERS or "protocol" not in split:
        raise NidsError(
            f"{args.model}: the detector does not record a registered dataset and split (found dataset {name!r}); "
            "give --input FILE with flows to time"
        )
    dataset = load_dataset(name, args.data_dir)
    record = detector.metadata.get("record") or {}
    rows = make_split(dataset, split["protocol"], split.get("seed", 0), test_partition=record.get("test_partition")).test
    source = f"{name} {split['protocol']} split (seed {split.get('seed', 0)}), {len(rows):,} test rows"
    return dataset.features.iloc[rows], source


def _cmd_bench(args: argparse.Namespace) -> int:
    import pandas as pd

    from nids.detector import Detector
    from nids.evaluation import fix_tf_threads, measure_latency

    if args.threads < 1 or args.n_single < 1 or args.batch_rows < 1 or args.warmup < 0:
        raise NidsError("--threads, --n-single and --batch-rows must be >= 1 and --warmup >= 0")
    info = json.loads((Path(args.model) / "detector.json").read_text()) if (Path(args.model) / "detector.json").is_file() else {}
    if info.get("kind") == "keras":  # thread pools are fixed before TensorFlow's runtime starts
        import tensorflow  # noqa: F401

        fix_tf_threads(args.threads)
    detector = Detector.load(args.model)
    frame, source = _bench_flows(args, detector)
    result = measure_latency(
        detector, frame, n_single=args.n_single, warmup=args.warmup, batch_rows=args.batch_rows, threads=args.threads
    )
    machine = result["machine"]
    print(f"detector: {args.model} ({detector.model_name}, {detector.task})")
    print(f"flows:    {source}")
    print(f"machine:  {machine['cpu']}, {machine['usable_cores']} usable cores, Python {machine['python']}"
          + (f", TensorFlow {machine['tensorflow']}" if "tensorflow" in machine else "")
          + (f", load average {machine['load_average']}" if "load_average" in machine else ""))  # fmt: skip
    print(f"threads:  {result['threads']}")
    table = pd.DataFrame(
        [
            {"measure": "single flow p50 (ms)", "value": result["single_p50_ms"]},
            {"measure": "single flow p99 (ms)", "value": result["single_p99_ms"]},
            {"measure": "single flow mean (ms)", "value": result["single_mean_ms"]},
            {"measure": f"batched flows/s ({result['batch_rows']:,} rows)", "value": result["batch_flows_per_s"]},
        ]
    )  # fmt: skip
    print(table.to_markdown(index=False, floatfmt=".3f"))
    print(
        f"({result['n_single']} single-flow calls after {result['warmup']} warm-up calls; batched: best of "
        f"{result['batch_repeats']} calls after one warm-up; preprocessing included)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
        print(f"results written to {args.json}")
    return 0


def _cmd_app(args: argparse.Namespace) -> int:
    import os
    import subprocess

    from nids.config import PROJECT_ROOT

    notebook = PROJECT_ROOT / "notebooks" / "08_predict_app.ipynb"
    if not notebook.is_file():
        raise NidsError(f"expected the app notebook at {notebook}, found none")
    if args.max_upload_mb <= 0:
        raise NidsError(f"--max-upload-mb {args.max_upload_mb}: expected a positive size in MB")
    env = {**os.environ, "NIDS_APP_MAX_UPLOAD_MB": str(args.max_upload_mb)}
    if args.models_dir:
        env["NIDS_MODELS_DIR"] = str(Path(args.models_dir).resolve())
    # the upload travels as one websocket message: allow well above the app's own limit, so that a file
    # over the limit reaches the app and gets its message instead of a dropped connection
    ws_limit = int((4 * args.max_upload_mb + 64) * 2**20)
    command = [
        sys.executable, "-m", "voila", str(notebook), f"--Voila.ip={args.host}", f"--port={args.port}", "--no-browser",
        f"--Voila.tornado_settings={{'websocket_max_message_size': {ws_limit}}}",
        "--VoilaConfiguration.show_tracebacks=False",
    ]  # fmt: skip
    print(f"nids app: http://{args.host}:{args.port}/  (upload limit {args.max_upload_mb:g} MB; Ctrl-C stops)", flush=True)
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from nids.apps.flask_app import serve

    settings = {"NIDS_APP_MAX_UPLOAD_MB": str(args.max_upload_mb)}
    if args.models_dir:
        settings["NIDS_MODELS_DIR"] = str(Path(args.models_dir).resolve())
    serve(args.host, args.port, settings)
    return 0


def _label_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--label-column", help="label column of a generic table (default: detected: label, attack_cat, class, ...)"
    )
    parser.add_argument("--normal-label", help="label value of benign traffic (default: detected: normal, benign, ...)")


def _server_arguments(parser: argparse.ArgumentParser, port: int, models_help: str) -> None:
    """The options both prediction apps take: address, port, models path, upload limit."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=port, help=f"port (default {port})")
    parser.add_argument("--models-dir", help=f"{models_help} (default: NIDS_MODELS_DIR, else models/)")
    parser.add_argument("--max-upload-mb", type=float, default=100, help="upload size limit in MB (default 100)")


def build_parser() -> argparse.ArgumentParser:
    from nids.models import MODELS

    parser = argparse.ArgumentParser(prog="nids", description="Deep-learning network intrusion detection workbook.")
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="fetch or check dataset files").add_subparsers(dest="data_command", required=True)
    fetch = data.add_parser("fetch", help="download dataset files from mirrors and verify their SHA-256")
    fetch.add_argument("--dataset", default="unsw-nb15", choices=["unsw-nb15", "nsl-kdd"])
    fetch.add_argument("--data-dir", help="target directory (default: NIDS_DATA_DIR, else data/raw)")
    fetch.add_argument("--file", help="catalogue path of the one file that --mirror applies to")
    fetch.add_argument("--mirror", action="append", help="mirror URL to try first (repeatable)")
    fetch.add_argument("--force", action="store_true", help="download even if a verified copy exists")
    fetch.add_argument("--all", action="store_true", help="include optional files (full KDDTrain+)")
    fetch.set_defaults(func=_cmd_data_fetch)
    check = data.add_parser("check", help="say what a file is (by content, not name) and print its audit")
    check.add_argument("file", help="a dataset file (.csv, .csv.gz, .zip, .txt)")
    check.add_argument("--json", help="also write the audit as JSON to this path")
    _label_options(check)
    check.set_defaults(func=_cmd_data_check)

    train = sub.add_parser("train", help="train a model and save a detector directory")
    train.add_argument("--model", required=True, choices=sorted(MODELS), help="registered model name")
    train.add_argument("--dataset", default="unsw-nb15", help="unsw-nb15, nsl-kdd, or csv:PATH for any flow table")
    _label_options(train)
    train.add_argument("--data-dir", help="data directory (default: NIDS_DATA_DIR, else data/raw)")
    train.add_argument("--task", default="multiclass", choices=["binary", "multiclass"])
    train.add_argument("--protocol", default="dedup", choices=["dedup", "random", "official"])
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--epochs", type=int, default=10, help="max deep-model epochs; early stopping may end sooner (default: %(default)s)"
    )
    train.add_argument("--batch-size", type=int, default=2048, help="mini-batch size of deep models (default: %(default)s)")
    train.add_argument("--trees", type=int, default=100, help="Random Forest trees")
    train.add_argument("--class-weight", action="store_true", help="up-weight rare classes")
    train.add_argument(
        "--class-weight-power",
        type=float,
        default=1.0,
        help="deep models, with --class-weight: raise the balanced weights to this power in (0, 1]; "
        "0.5 (their square root) is what notebooks 04-05 use (default: %(default)s)",
    )
    train.add_argument("--max-train-rows", type=int, help="subsample the training split (quick runs)")
    train.add_argument("--record", action="store_true", help="also add the metric record to reports/metrics.json")
    train.add_argument("--out", required=True, help="detector directory to write")
    train.set_defaults(func=_cmd_train)

    predict = sub.add_parser("predict", help="score a table of flows with a saved detector")
    predict.add_argument("--model", required=True, help="detector directory (written by nids train)")
    predict.add_argument(
        "--input", required=True, help="flows: .csv, .csv.gz, .zip or .parquet (--engine dask: also a glob or a directory)"
    )
    predict.add_argument(
        "--output", required=True, help="CSV to write: one row per input row (--engine dask: a new directory of Parquet parts)"
    )
    predict.add_argument("--with-input", action="store_true", help="copy the input columns into the output (local engine)")
    predict.add_argument(
        "--engine", default="local", choices=["local", "dask"], help="local: this process; dask: partitions on Dask workers"
    )
    predict.add_argument("--workers", type=int, help="dask: worker processes of a local cluster on 127.0.0.1 (default 2)")
    predict.add_argument("--scheduler", help="dask: address of an existing cluster's scheduler (tcp://HOST:8786)")
    predict.add_argument("--memory-limit", default="auto", help="dask local cluster: memory limit per worker (e.g. 1GiB)")
    predict.add_argument("--blocksize", default="32MiB", help="dask: bytes of input per partition (CSV bytes, Parquet data)")
    predict.add_argument("--no-progress", action="store_true", help="dask: no progress bar")
    predict.set_defaults(func=_cmd_predict)

    explain = sub.add_parser("explain", help="per-row top-K SHAP feature contributions to a saved detector's verdicts")
    explain.add_argument("--model", required=True, help="detector directory (written by nids train or a notebook)")
    explain.add_argument("--input", required=True, help="flows: .csv, .csv.gz, .zip or .parquet")
    explain.add_argument("--output", required=True, help="CSV to write: one row per input row")
    explain.add_argument("--top", type=int, default=5, help="features listed per row (default 5)")
    explain.add_argument(
        "--budget",
        type=float,
        default=10.0,
        help="Random Forest: estimated seconds of Tree SHAP allowed; above it a depth-capped copy of the forest "
        "is explained (default 10)",
    )
    explain.add_argument(
        "--background", help="deep models: reference flows to explain against (default: up to 50 of the input rows)"
    )
    explain.add_argument(
        "--explainer",
        default="auto",
        choices=["auto", "gradient", "deep", "permutation"],
        help="deep models: SHAP explainer (auto: GradientExplainer, falling back to PermutationExplainer)",
    )
    explain.set_defaults(func=_cmd_explain)

    bench = sub.add_parser("bench", help="single-flow latency (p50/p99) and batched throughput of a saved detector")
    bench.add_argument("--model", required=True, help="detector directory (written by nids train or a notebook)")
    bench.add_argument("--input", help="flows to time (default: the test rows of the detector's own dataset and split)")
    bench.add_argument("--data-dir", help="data directory for the default flows (default: NIDS_DATA_DIR, else data/raw)")
    bench.add_argument("--n-single", type=int, default=300, help="timed single-flow calls (default 300)")
    bench.add_argument("--warmup", type=int, default=20, help="untimed warm-up calls (default 20)")
    bench.add_argument("--batch-rows", type=int, default=8192, help="rows in the batched call (default 8192)")
    bench.add_argument("--threads", type=int, default=2, help="CPU threads for TensorFlow, BLAS/OpenMP and joblib (default 2)")
    bench.add_argument("--json", help="also write the full result (incl. machine description) to this JSON file")
    bench.set_defaults(func=_cmd_bench)

    app = sub.add_parser("app", help="the upload-and-predict app (notebook 08) in the browser, served by Voila")
    _server_arguments(app, 8866, "detectors to offer")
    app.set_defaults(func=_cmd_app)

    serve = sub.add_parser("serve", help="the minimal Flask page (login, upload-and-predict, results, download)")
    _server_arguments(serve, 5000, "the only place detectors are loaded from")
    serve.set_defaults(func=_cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except NidsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `nids ... | head`
        sys.stderr.close()
        return 0
    except OSError as exc:  # an output path the OS refuses: a folder, a missing parent folder, no permission
        target = f" {exc.filename}" if exc.filename else ""
        print(
            f"error: cannot write or read{target}: {exc.strerror or exc}; expected a file path in an existing, writable folder",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
