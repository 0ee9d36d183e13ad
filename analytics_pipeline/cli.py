"""``analytics-pipeline``: the command line for operators and the Makefile.

Argument parsing only: each command calls a task (analytics_pipeline.tasks) or a core function.
Commands import what they need when they run, so ``--help`` and ``mongo status`` stay fast.
"""
from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from pymongo.errors import PyMongoError

from analytics_pipeline.core.alerting.config import ALGORITHMS, AlertIntelligenceConfig
from analytics_pipeline.core.detection.detectors import DETECTOR_NAMES
from analytics_pipeline.core.forecasting.config import DEFAULT_ANOMALY_LEVEL
from analytics_pipeline.core.detection.pipelines import TrainingConfig, parse_contamination
from analytics_pipeline.core.mongo_errors import unreachable_message
from analytics_pipeline.core.redaction import redact
from analytics_pipeline.core.settings import DEFAULT_LOCAL_MONGO_PORT, ensure_dagster_home, get_settings
from analytics_pipeline.tasks.console import StepLines, library_output_to, make_console

# Commands whose libraries talk (MLflow notices and download bars, warnings): quiet unless --verbose.
QUIET_COMMANDS = frozenset({"seed", "load", "train", "detect", "cluster-alerts"})
TRAINING_DEFAULTS = TrainingConfig()  # the one home of the hyperparameter defaults
ALERTING_DEFAULTS = AlertIntelligenceConfig()


def _positive(kind: type):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value
    return parse


def _contamination(text: str) -> str | float:
    try:
        return parse_contamination(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _logs_collection(args: argparse.Namespace):
    from analytics_pipeline.core.logs.store import LOGS_COLLECTION
    from analytics_pipeline.resources.mongodb import MongoDBResource

    return MongoDBResource(uri=getattr(args, "mongodb_uri", None) or None).db()[LOGS_COLLECTION]


def cmd_mongo(args: argparse.Namespace) -> int:
    from analytics_pipeline.local import mongo_server as local_mongo

    data_dir = get_settings().local_mongo_dir
    if args.action == "start":
        server = local_mongo.start(data_dir, port=args.port)
        print(f"local MongoDB running: pid {server.pid}, {server.uri} (data: {data_dir})")
    elif args.action == "stop":
        print("stopped" if local_mongo.stop(data_dir) else "not running")
    else:
        server = local_mongo.status(data_dir)
        print(f"running: pid {server.pid}, {server.uri}" if server else "not running")
        return 0 if server else 3
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from analytics_pipeline.synthetic.seeding import insert_synthetic, synthetic_window

    logs, lines = _logs_collection(args), StepLines(make_console())
    with lines.step("seed") as step:
        frame = synthetic_window(args.days, args.logs_per_minute, args.seed)
        with lines.progress(f"inserting {len(frame):,} synthetic logs", total=len(frame)) as advance:
            report = insert_synthetic(logs, frame, on_batch=advance)
        step.what = f"{report.inserted:,} logs inserted ({report.duplicates:,} already present)"
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    from analytics_pipeline.tasks.loading import load_file

    report = load_file(_logs_collection(args), Path(args.file))
    print(f"read {report.received:,} records: inserted {report.inserted:,}, "
          f"already present {report.duplicates:,}, set aside {sum(report.bad_counts.values()):,}")
    for reason, count in sorted(report.bad_counts.items(), key=lambda kv: -kv[1]):
        print(f"  {reason}: {count:,}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from analytics_pipeline.core.logs.files import logs_from_file
    from analytics_pipeline.core.logs.store import read_latest
    from analytics_pipeline.tasks.training import train_and_register

    config = TrainingConfig(detector=args.detector, contamination=args.contamination,
                            n_estimators=args.n_estimators, test_size=args.test_size)
    if args.data_source == "file":
        if not args.input:
            raise ValueError("--data-source file needs --input FILE")
        result = logs_from_file(Path(args.input), args.limit)
        source = f"file:{Path(args.input).name}"
    else:
        result = read_latest(_logs_collection(args), args.limit)
        source = "mongodb"
    if result.n_bad:
        print(f"set aside {result.n_bad:,} bad records: {result.bad_counts}")
    print(f"training {args.detector} on {len(result.logs):,} logs from {source} ...")
    settings = get_settings()
    with make_console().status("fitting, evaluating, logging to MLflow, gating ..."):
        out = train_and_register(result.logs, config, Path(args.output_dir or settings.saved_models_dir),
                                 settings.mlflow_tracking_uri, source)
    print(f"MLflow run {out.candidate.run_id}, registered version {out.candidate.version}")
    for key in ("precision", "recall", "f1", "roc_auc", "pr_auc", "false_positive_rate", "anomaly_rate",
                "training_time_s", "model_size_bytes"):
        value = out.candidate.metrics.get(key)
        print(f"  {key:>20}: {'n/a (no labels)' if value is None else f'{value:.4f}'}")
    print(("promoted to champion: " if out.promotion.promoted else "not promoted: ") + out.promotion.decision.reason)
    return 0


def cmd_detect(args: argparse.Namespace) -> int:
    from analytics_pipeline.tasks.detection import detect_file

    with make_console().status(f"scoring {args.file} ..."):
        counts = detect_file(Path(args.file), Path(args.output), model_path=args.model_path, alias=args.alias)
    print(f"scored {counts['scored']:,} records ({counts['anomalies']:,} anomalies, "
          f"{counts['errors']:,} rejected) -> {args.output}")
    return 0


def cmd_cluster_alerts(args: argparse.Namespace) -> int:
    from analytics_pipeline.core.alerting.summaries import incident_lines, summary_line
    from analytics_pipeline.tasks.alerting import cluster_alerts_file

    config = AlertIntelligenceConfig(clustering_algorithm=args.algorithm)
    output = Path(args.output) if args.output else None
    result = cluster_alerts_file(Path(args.file), config, output)
    report, batch = result.report, result.batch
    print(f"read {batch.received:,} scored records: {len(batch.anomalies):,} anomalies, {batch.normal:,} normal, "
          f"{sum(batch.set_aside.values()):,} set aside")
    for reason, count in sorted(batch.set_aside.items(), key=lambda kv: -kv[1]):
        print(f"  {reason}: {count:,}")
    print(summary_line(report.anomalies, len(report.incidents), len(report.alerts))
          + f"; {len(report.graph.edges)} learned service dependencies ({args.algorithm})")
    if report.incidents:
        print(f"\nIncidents, most urgent first ({min(args.top, len(report.incidents))} of {len(report.incidents)}):")
        print("\n".join(incident_lines(report.incidents, args.top)))
    if output:
        print(f"\neach anomaly's alert_id and cluster_id -> {output}")
    return 0


def cmd_forecast(args: argparse.Namespace) -> int:
    from analytics_pipeline.tasks.forecasting import forecast_file

    output = Path(args.output) if args.output else None
    anomalies = Path(args.anomalies) if args.anomalies else None
    result, flagged = forecast_file(Path(args.file), args.horizon, output, anomalies)
    reg = result.history
    print(f"{args.file}: {int(reg.observed.sum()):,} points every {reg.step}, forecast {len(result.forecast):,} steps")
    if result.note:
        print(f"  {result.note}")
    else:
        coverage = ", ".join(f"{level:.0%} band {value:.0%}" for level, value in result.coverage.items())
        print(f"  model {result.model}: backtest MASE {result.mase:.3f} vs seasonal naive {result.naive_mase:.3f} "
              f"({result.backtest_horizon} steps, {len(set(result.scores))} candidates)")
        print(f"  interval coverage in the backtest: {coverage}"
              + (" (conformally corrected)" if result.calibration.corrected else ""))
    if output:
        print(f"  forecast with 80% and 95% bands -> {output}")
    print(f"  {flagged:,} points outside the one-step {DEFAULT_ANOMALY_LEVEL:.1%} band" + (f" -> {anomalies}" if anomalies else ""))
    return 0


def cmd_collect_metrics(args: argparse.Namespace) -> int:
    from analytics_pipeline.core.metrics.system import SYSTEM_METRICS_COLLECTION
    from analytics_pipeline.resources.mongodb import MongoDBResource
    from analytics_pipeline.tasks.forecasting import collect_metrics

    collection = MongoDBResource(uri=args.mongodb_uri or None).db()[SYSTEM_METRICS_COLLECTION]

    def show(doc: dict) -> None:
        print(f"{doc['timestamp']:%H:%M:%S} {doc['host']}: cpu {doc['cpu']:.0f}%, memory {doc['memory']:.0f}%, "
              f"disk {doc['disk']:.0f}%, load {doc['load']:.2f}", flush=True)

    try:
        written = collect_metrics(collection, args.interval, args.count, on_sample=show)
    except KeyboardInterrupt:
        written = None
    print(f"samples written to {collection.database.name}.{collection.name}" if written is None
          else f"{written} samples written to {collection.database.name}.{collection.name}")
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    from analytics_pipeline.local import mongo_server as local_mongo

    settings = get_settings()
    ensure_dagster_home(settings.dagster_home)
    if not settings.mongodb_uri:
        server = local_mongo.start(settings.local_mongo_dir)
        print(f"local MongoDB: {server.uri}")
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    dagster = Path(sys.executable).parent / "dagster"
    cmd = [str(dagster), "dev", "-w", "workspace.yaml", "-h", args.host, "-p", str(args.port)]
    print(f"Dagster UI on http://{args.host}:{args.port}  (Ctrl-C to stop)")
    os.execv(cmd[0], cmd)
    return 0  # not reached


def cmd_demo(args: argparse.Namespace) -> int:
    from analytics_pipeline.tasks.demo import run_demo

    return run_demo(partition=args.partition, logs_per_minute=args.logs_per_minute)


def cmd_report(args: argparse.Namespace) -> int:
    from analytics_pipeline.resources.mongodb import MongoDBResource
    from analytics_pipeline.tasks.report import write_report_file

    db = MongoDBResource(uri=args.mongodb_uri or None).db()
    written = write_report_file(db, args.partition, Path(args.output) if args.output else None,
                                get_settings().mlflow_tracking_uri)
    print(f"weekly report {written.partition}: {written.recommendations} recommendations")
    print("\n".join(written.summary))
    print(f"HTML report: {written.path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    # --verbose before or after the command; SUPPRESS keeps a command's absent flag from undoing the other.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="show the traceback of an error and the libraries' own messages")
    parser = argparse.ArgumentParser(prog="analytics-pipeline", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="show the traceback of an error and the libraries' own messages")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", parents=[common], help="seed if empty, run the weekly graph for the latest complete week")
    p.add_argument("--partition", help="week key YYYY-MM-DD (default: latest complete week)")
    p.add_argument("--logs-per-minute", type=_positive(float), default=5.0)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("ui", parents=[common], help="the Dagster UI with the local MongoDB server running")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=_positive(int), default=3000)
    p.set_defaults(func=cmd_ui)

    p = sub.add_parser("seed", parents=[common], help="insert realistic labelled synthetic logs")
    p.add_argument("--days", type=_positive(float), default=35.0)
    p.add_argument("--logs-per-minute", type=_positive(float), default=20.0)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--mongodb-uri", help="default: $MONGODB_URI or the local server")
    p.set_defaults(func=cmd_seed)

    p = sub.add_parser("load", parents=[common], help="import a .jsonl or .parquet log file, with validation")
    p.add_argument("file")
    p.add_argument("--mongodb-uri", help="default: $MONGODB_URI or the local server")
    p.set_defaults(func=cmd_load)

    p = sub.add_parser("train", parents=[common], help="train, evaluate, log to MLflow, register, gate")
    p.add_argument("--data-source", choices=["mongodb", "file"], default="mongodb")
    p.add_argument("--mongodb-uri", help="default: $MONGODB_URI or the local server")
    p.add_argument("--input", help="a .jsonl or .parquet log file (with --data-source file)")
    p.add_argument("--limit", type=_positive(int), default=50_000, help="newest N logs")
    p.add_argument("--detector", default=TRAINING_DEFAULTS.detector, choices=DETECTOR_NAMES)
    p.add_argument("--contamination", type=_contamination, default=TRAINING_DEFAULTS.contamination,
                   help='"auto" (each view\'s own boundary, the default) or a share such as 0.1')
    p.add_argument("--n-estimators", type=_positive(int), default=TRAINING_DEFAULTS.n_estimators)
    p.add_argument("--test-size", type=_positive(float), default=TRAINING_DEFAULTS.test_size)
    p.add_argument("--output-dir", help="default: saved_models/")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("detect", parents=[common], help="score a .jsonl/.parquet log file offline with the champion")
    p.add_argument("file")
    p.add_argument("--output", required=True, help="scored records as .jsonl")
    p.add_argument("--model-path", help="an exported model (saved_models/...) instead of the registry")
    p.add_argument("--alias", default="champion", help="registry alias (default: champion)")
    p.set_defaults(func=cmd_detect)

    p = sub.add_parser("cluster-alerts", parents=[common], help="alerts and incidents (root cause, priority) from a scored file")
    p.add_argument("file", help="what `detect --output` wrote (.jsonl or .parquet)")
    p.add_argument("--algorithm", default=ALERTING_DEFAULTS.clustering_algorithm, choices=ALGORITHMS)
    p.add_argument("--output", help="each anomaly's alert_id and cluster_id as .jsonl")
    p.add_argument("--top", type=_positive(int), default=10, help="incidents to print (default 10)")
    p.set_defaults(func=cmd_cluster_alerts)

    p = sub.add_parser("forecast", parents=[common], help="forecast a timestamp,value CSV (e.g. a NAB file)")
    p.add_argument("file", help="CSV with columns timestamp,value")
    p.add_argument("--horizon", type=_positive(int), help="steps ahead (default: 7 days at the file's frequency)")
    p.add_argument("--output", help="forecast with its bands as CSV")
    p.add_argument("--anomalies", help="points outside the one-step 99.8%% band as CSV")
    p.set_defaults(func=cmd_forecast)

    p = sub.add_parser("collect-metrics", parents=[common], help="sample this host (psutil) into system_metrics")
    p.add_argument("--interval", type=_positive(float), default=60.0, help="seconds between samples (default 60)")
    p.add_argument("--count", type=_positive(int), help="samples to take (default: until Ctrl-C)")
    p.add_argument("--mongodb-uri", help="default: $MONGODB_URI or the local server")
    p.set_defaults(func=cmd_collect_metrics)

    p = sub.add_parser("report", parents=[common], help="write the latest (or a given) week's HTML report")
    p.add_argument("--partition", help="week key YYYY-MM-DD (default: the latest week with a report)")
    p.add_argument("--output", help="the HTML file to write (default: report-<week>.html here)")
    p.add_argument("--mongodb-uri", help="default: $MONGODB_URI or the local server")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("mongo", parents=[common], help="the local MongoDB-protocol server (SecantusDB)")
    p.add_argument("action", choices=["start", "stop", "status"])
    p.add_argument("--port", type=_positive(int), default=None)
    p.set_defaults(func=cmd_mongo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "port", None) is None and args.command == "mongo":
        args.port = DEFAULT_LOCAL_MONGO_PORT
    try:
        if args.command not in QUIET_COMMANDS or args.verbose:
            return args.func(args)
        log_path = get_settings().local_dir / "logs" / f"{args.command}.log"
        before = log_path.stat().st_size if log_path.exists() else 0
        try:
            with library_output_to(log_path):
                return args.func(args)
        finally:
            if log_path.stat().st_size > before:
                print(f"(the libraries' own messages: {log_path}; --verbose shows them here)")
    except (ValueError, FileNotFoundError, ConnectionError, RuntimeError, TimeoutError, PyMongoError) as exc:
        # One line for people; the traceback only when asked (--verbose). Never a password.
        if args.verbose:
            traceback.print_exc()
        if isinstance(exc, PyMongoError):
            uri = getattr(args, "mongodb_uri", None) or get_settings().mongodb_uri or "the local server"
            message = unreachable_message(exc, uri, doing=args.command)
        else:
            message = str(exc)
        print(f"error: {redact(message)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
