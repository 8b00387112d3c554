"""The ``harmony`` command (``python -m harmonylib``).

    python -m harmonylib predict AUDIO... [--model RUN_DIR] [--window S] [--strategy S1|S2]
                                          [--threshold T] [--format table|json|csv] [--timeline OUT.png]
    python -m harmonylib report [--profile P]
    python -m harmonylib download-irmas DIR
    python -m harmonylib make-fixture DIR [--weights]
    python -m harmonylib collect-audioset DIR --segments CSV [CSV ...] [--ontology CSV] [--cap-per-class N]
                                          [--no-speech] [--rate-limit S]

``predict`` prints, for each file, the instruments found with their scores. Exit status: 0 when
every file was processed, 1 when some file could not be read (it is named, the others are still
processed), 2 for a usage error or a model that cannot be loaded.

``download-irmas`` puts IRMAS (Zenodo record 1290750, MD5-checked) in ``DIR/IRMAS/`` and
``collect-audioset`` the AudioSet segments of Table 3.2 in ``DIR/AudioSet/``, the layout
``./run_all.sh --profile full --data-dir DIR`` reads. Both show progress and resume where an
interrupted run stopped.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .config import PROFILE_NAMES
from .errors import HarmonyError
from .labels import CLASS_NAMES, CLASSES


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harmony", description="Predominant instrument recognition (harmony study).")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("predict", help="name the instruments in audio files",
                            description="Name the instruments in audio files with a trained run (default: the "
                                        "final model of the last ./run_all.sh).")
    p.add_argument("audio", nargs="+", type=Path, metavar="AUDIO", help="audio files (any format soundfile reads)")
    p.add_argument("--model", type=Path, metavar="RUN_DIR", help="run folder (default: build/final_model.json)")
    p.add_argument("--window", type=float, metavar="S", help="window length in seconds (default: the run's)")
    p.add_argument("--strategy", choices=("S1", "S2"), default="S2",
                   help="S1: mean of the windows; S2: sum divided by its maximum over classes (default)")
    p.add_argument("--threshold", type=float, default=0.5, help="a class is found above this score (default 0.5)")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument("--timeline", type=Path, metavar="OUT.png",
                   help="draw the per-window probabilities over time; with several files, OUT-<audio name>.png each")
    p.add_argument("--device", help="torch device (default: CUDA when available, else CPU)")
    r = commands.add_parser("report", help="build the HTML report of executed notebooks")
    r.add_argument("--profile", choices=PROFILE_NAMES, default="default")
    d = commands.add_parser("download-irmas", help="download IRMAS from Zenodo into DIR/IRMAS (resumable)")
    d.add_argument("dir", type=Path, metavar="DIR", help="data folder (./run_all.sh --profile full --data-dir DIR)")
    f = commands.add_parser("make-fixture", help="write a tiny IRMAS and AudioSet tree in their real layouts")
    f.add_argument("dir", type=Path, metavar="DIR", help="where (DIR/IRMAS, DIR/AudioSet)")
    f.add_argument("--weights", action="store_true",
                   help="also write randomly initialised checkpoints in the formats of the pretrained ResNet-50 "
                        "and AST into DIR/weights (for ./run_all.sh --weights)")
    a = commands.add_parser("collect-audioset", help="collect the AudioSet segments of report Table 3.2 into "
                                                     "DIR/AudioSet (yt-dlp + ffmpeg; resumable)")
    a.add_argument("dir", type=Path, metavar="DIR", help="data folder (./run_all.sh --profile full --data-dir DIR)")
    a.add_argument("--segments", type=Path, nargs="+", required=True, metavar="CSV",
                   help="Google's segment files, e.g. balanced_train_segments.csv unbalanced_train_segments.csv")
    a.add_argument("--ontology", type=Path, metavar="CSV",
                   help="Google's class_labels_indices.csv: refuse segment files with IDs it does not know")
    a.add_argument("--cap-per-class", type=int, metavar="N", help="at most N segments per class")
    a.add_argument("--no-speech", action="store_true", help="do not count speech as voi (the report did)")
    a.add_argument("--rate-limit", type=float, default=1.0, metavar="S", help="seconds between downloads (default 1)")
    return parser


def _timeline_paths(target: Path, files: list[Path]) -> list[Path]:
    if len(files) == 1:
        return [target]
    stems = [f.stem for f in files]
    names = [stem if stems.count(stem) == 1 else f"{i + 1}-{stem}" for i, stem in enumerate(stems)]
    return [target.with_name(f"{target.stem}-{name}{target.suffix or '.png'}") for name in names]


def _table(results, predictor, args, window: float) -> str:
    lines = [f"model: {predictor.run_dir} ({predictor.name}; {predictor.weights})",
             f"windows of {window:g} s, {args.strategy}, threshold {args.threshold:g}", ""]
    for r in results:
        if r.error:
            lines += [f"{r.path}: ERROR {r.error}", ""]
            continue
        lines.append(f"{r.path}  ({r.duration:.2f} s, {r.sample_rate} Hz, {r.channels} channel(s), "
                     f"{len(r.window_probs)} window(s))")
        found = r.instruments()
        lines += [f"  {code}  {CLASS_NAMES[code]:<16} {score:.3f}" for code, score in found]
        lines += ["  (no instrument above the threshold)"] if not found else []
        lines.append("")
    return "\n".join(lines)


def _json(results, predictor, args, window: float) -> str:
    files = []
    for r in results:
        entry = {"file": str(r.path), "error": r.error}
        if not r.error:
            entry.update(duration_s=round(r.duration, 4), sample_rate=r.sample_rate, channels=r.channels,
                         windows=len(r.window_probs),
                         instruments=[{"code": c, "name": CLASS_NAMES[c], "score": round(s, 4)}
                                      for c, s in r.instruments()],
                         scores={c: round(float(s), 4) for c, s in zip(CLASSES, r.scores)})
        files.append(entry)
    return json.dumps({"model": str(predictor.run_dir), "weights": predictor.weights, "window_s": window,
                       "strategy": args.strategy, "threshold": args.threshold, "files": files}, indent=2)


def _csv(results) -> str:
    import pandas as pd

    rows = []
    for r in results:
        row = {"file": str(r.path), "status": "error" if r.error else "ok", "error": r.error or "",
               "instruments": " ".join(c for c, _ in r.instruments()) if not r.error else ""}
        row.update({c: None if r.error else float(r.scores[i]) for i, c in enumerate(CLASSES)})
        rows.append(row)
    return pd.DataFrame(rows).to_csv(index=False, float_format="%.4f", lineterminator="\n")


def predict_command(args) -> int:
    from .predict import final_model_dir, load_predictor, predict_file, save_timeline

    if args.window is not None and args.window <= 0:
        print("harmony predict: --window must be a positive number of seconds", file=sys.stderr)
        return 2
    try:
        predictor = load_predictor(args.model or final_model_dir(), args.device)
    except HarmonyError as error:
        print(f"harmony predict: cannot use the model: {error}", file=sys.stderr)
        return 2
    window = args.window or predictor.window
    if window != predictor.window:
        print(f"harmony predict: note: the model was trained on {predictor.window:g}-s windows, predicting on "
              f"{window:g}-s windows", file=sys.stderr)
    results = [predict_file(predictor, path, window, args.strategy, args.threshold) for path in args.audio]
    for r in results:
        if r.error:
            print(f"harmony predict: {r.path}: {r.error}", file=sys.stderr)
    if args.format == "table":
        print(_table(results, predictor, args, window))
    elif args.format == "json":
        print(_json(results, predictor, args, window))
    else:
        sys.stdout.write(_csv(results))
    if args.timeline is not None:
        good = [r for r in results if not r.error]
        for r, target in zip(good, _timeline_paths(args.timeline, [r.path for r in good])):
            save_timeline(r, window, args.threshold, target)
            print(f"harmony predict: timeline of {r.path.name} -> {target}", file=sys.stderr)
    return 1 if any(r.error for r in results) else 0


def download_irmas_command(args) -> int:
    from .data.irmas import download_irmas

    try:
        target = download_irmas(args.dir / "IRMAS")
    except (HarmonyError, OSError) as error:
        print(f"harmony download-irmas: {error}", file=sys.stderr)
        return 1
    print(f"harmony download-irmas: IRMAS in {target}; run ./run_all.sh --profile full --data-dir {args.dir}")
    return 0


def make_fixture_command(args) -> int:
    from .data.fixture import make_fixture

    try:
        target = make_fixture(args.dir, weights=args.weights)
    except (HarmonyError, OSError) as error:
        print(f"harmony make-fixture: {error}", file=sys.stderr)
        return 1
    print(f"harmony make-fixture: {target} (IRMAS/ and AudioSet/ in the real layouts"
          + (", random checkpoints in weights/ in the real formats)" if args.weights else ")"))
    return 0


def collect_audioset_command(args) -> int:
    import pandas as pd

    from .data import audioset

    try:
        known = audioset.read_class_labels(args.ontology) if args.ontology else None
        segments = pd.concat([audioset.read_segments(path, known_mids=known) for path in args.segments],
                             ignore_index=True)
        chosen = audioset.select_segments(segments, include_speech=not args.no_speech,
                                          cap_per_class=args.cap_per_class)
        print(f"harmony collect-audioset: {len(chosen)} of {len(segments)} segments have a class of Table 3.2")
        manifest = audioset.collect(chosen, args.dir / "AudioSet", rate_limit_s=args.rate_limit, progress=True)
    except (HarmonyError, OSError) as error:
        print(f"harmony collect-audioset: {error}", file=sys.stderr)
        return 1
    counts = manifest["status"].value_counts()
    print("harmony collect-audioset: " + ", ".join(f"{status} {n}" for status, n in counts.items())
          + f" (manifest {args.dir / 'AudioSet' / 'clips.csv'})")
    earlier = sorted(set(manifest["ytid"]) - set(chosen["ytid"]))
    if earlier:
        print(f"harmony collect-audioset: note: the manifest also holds {len(earlier)} clip(s) of an earlier, other "
              "selection, which the study reads too; collect into a new folder to keep only this one",
              file=sys.stderr)
    if counts.get("error", 0):
        print("harmony collect-audioset: network errors remain: run it again to retry them", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "predict":
        return predict_command(args)
    if args.command == "download-irmas":
        return download_irmas_command(args)
    if args.command == "collect-audioset":
        return collect_audioset_command(args)
    if args.command == "make-fixture":
        return make_fixture_command(args)
    from .report import main as report_main

    return report_main(["--profile", args.profile])


if __name__ == "__main__":
    sys.exit(main())
