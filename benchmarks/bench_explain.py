"""Cost of the SHAP explanations (nids.explain) and of ``nids explain`` on real UNSW-NB15 flows.

Uses the 10-class detectors saved by notebooks 03 and 05 (``models/unsw-nb15/rf_multiclass`` and
``bigru_seq2seq_convlstm_multiclass``; a quick one is trained when one is missing) and flows of their
test split. Prints one table; writes nothing but temporary files.

Budgets on the project's 2-core machine: ``nids explain`` on 100 rows <= 30 s for the Random Forest and
<= 60 s for the BiGRU extension. The table also checks the Tree SHAP cost estimate that picks the
forest's depth cap against measured time, and shows the fidelity of each cap.

Usage::

    NIDS_DATA_DIR=/path/to/data .venv/bin/python benchmarks/bench_explain.py            # 100 rows
    NIDS_DATA_DIR=/path/to/data .venv/bin/python benchmarks/bench_explain.py --rows 50
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from nids import config, explain  # noqa: E402
from nids.datasets import load_dataset  # noqa: E402


def _cli(model_dir: Path, flows: Path, out: Path, extra: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    command = [
        sys.executable,
        "-m",
        "nids.cli",
        "explain",
        "--model",
        str(model_dir),
        "--input",
        str(flows),
        "--output",
        str(out),
    ]
    done = subprocess.run([*command, *extra], capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"nids explain failed:\n{done.stderr[-2000:]}")
    return seconds, done.stdout.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100, help="flows explained by the CLI and the predicted-class runs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    dataset = load_dataset("unsw-nb15")
    rf, rf_note = explain.load_or_train(dataset, "rf", "multiclass", args.seed)
    deep, deep_note = explain.load_or_train(dataset, "bigru_seq2seq_convlstm", "multiclass", args.seed)
    print(rf_note, deep_note, sep="\n")
    sample = explain.explanation_sample(dataset, [rf, deep], args.rows, 50, args.seed)
    rows = []

    def record(what: str, n: int, seconds: float, estimate: float | None = None, note: str = "") -> None:
        rows.append(
            {
                "what": what,
                "rows": n,
                "seconds": round(seconds, 2),
                "s/row": round(seconds / n, 4),
                "estimate s/row": None if estimate is None else round(estimate, 4),
                "note": note,
            }
        )
        print(rows[-1], flush=True)

    few = sample.flows.iloc[:10]
    result = explain.explain_forest(rf, few, depth_cap=None)
    record(
        "RF TreeExplainer, full forest",
        10,
        result.seconds,
        explain.forest_cost_per_row(rf.model),
        f"gap {result.additivity_gap():.1e}",
    )
    for cap in (16, 12, 8):
        result = explain.explain_forest(rf, sample.flows, depth_cap=cap)
        d = result.details
        if d["depth_cap"] is None:
            continue
        fidelity = (
            f"top-class agreement {d['fidelity_top_class_agreement']:.2f}, mean |dp| {d['fidelity_mean_abs_proba_diff']:.4f}"
        )
        record(
            f"RF TreeExplainer, depth-{cap} cut",
            len(sample.flows),
            result.seconds,
            explain.forest_cost_per_row(rf.model, cap),
            fidelity,
        )

    result = explain.explain_deep(deep, few, sample.background, seed=args.seed)
    record(f"deep {result.explainer}, all classes", 10, result.seconds, note="includes tracing the shared Jacobian (once)")
    result = explain.explain_deep(deep, sample.flows, sample.background, outputs="predicted", seed=args.seed)
    record(f"deep {result.explainer}, predicted class", len(sample.flows), result.seconds, note="includes its own trace")
    result = explain.explain_deep(deep, few, sample.background, method="permutation", seed=args.seed)
    record(
        "deep PermutationExplainer (fallback)",
        10,
        result.seconds,
        note=f"background {result.details['background_rows']}, includes tracing",
    )

    models = config.models_dir() / config.slug(dataset.name)
    with tempfile.TemporaryDirectory() as tmp:
        flows = Path(tmp) / "flows.csv"
        sample.flows.to_csv(flows, index=False)
        for name, detector in (("rf_multiclass", rf), ("bigru_seq2seq_convlstm_multiclass", deep)):
            directory = models / name
            if not (directory / "detector.json").is_file():
                directory = detector.save(Path(tmp) / name)
            seconds, line = _cli(directory, flows, Path(tmp) / "out.csv", [])
            record(f"nids explain --model {name}", len(sample.flows), seconds, note=line.split(" -> ")[0])
    print()
    print(pd.DataFrame(rows).to_markdown(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
