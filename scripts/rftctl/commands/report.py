"""rftctl report: one self-contained HTML page per run, from the stack or from saved files."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..context import CommandContext
from ..errors import EXIT_OK, CliError

HELP = "write one self-contained HTML report of a run: settings, reward curves, grader metrics, compare"
DEFAULT_OUT = Path("report.html")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help=HELP,
        description=(
            "Write one HTML file (charts embedded, no external resources) about a run: the stack, base model, "
            "task, hyperparameters and fingerprint; the training and validation reward means (smoothed, one "
            "0-1 axis); the grader's CloudWatch metrics over the job; the preflight and compare results when "
            "given; the tuned model's id and how to call it. Online it reads the stack and its job (--save-data "
            "DIR keeps what it read); offline (--from DIR, or --offline with --metrics) it makes no AWS call."
        ),
    )
    parser.add_argument("--job", metavar="JOB", help="job id, ARN or name (default: the stack's current job)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="HTML",
                        help=f"HTML file to write (default {DEFAULT_OUT})")
    parser.add_argument("--save-data", type=Path, metavar="DIR",
                        help="also write run.json, metrics.json and grader-metrics.json to DIR (rebuild with --from)")
    offline = parser.add_argument_group("offline (no AWS calls)")
    offline.add_argument("--from", dest="from_dir", type=Path, metavar="DIR",
                         help="read run.json, metrics.json (or *.csv), grader-metrics.json, preflight.json and "
                              "compare.json from DIR")
    offline.add_argument("--offline", action="store_true",
                         help="make no AWS call without --from either: the report has what --metrics and the "
                              "other files give")
    offline.add_argument("--metrics", type=Path, action="append", metavar="FILE",
                         help="an rftctl.metrics .json (metrics --json-out) or a metrics .csv; repeat for several "
                              "CSVs; offline only")
    offline.add_argument("--grader-metrics", type=Path, metavar="FILE",
                         help="an rftctl.grader-metrics .json (report --save-data); offline only")
    parser.add_argument("--preflight", type=Path, metavar="FILE", help="an rftctl.preflight .json (preflight --json)")
    parser.add_argument("--compare", type=Path, metavar="FILE", help="an rftctl.compare .json (compare --json-out)")
    parser.set_defaults(run=run)


def _check_usage(args: argparse.Namespace, offline: bool) -> None:
    if offline and args.job:
        raise CliError("--job is for a report read from the stack; with --from/--offline the files say which job")
    if offline and args.save_data:
        raise CliError("--save-data keeps what an online report read; with --from the files are the saved data")
    if not offline and (args.metrics or args.grader_metrics):
        flag = "--metrics" if args.metrics else "--grader-metrics"
        raise CliError(f"{flag} is read offline: add --from DIR or --offline (online, the stack's are fetched)")
    if args.save_data is not None:
        if not args.save_data.parent.is_dir():
            raise CliError(f"--save-data {args.save_data}: directory {args.save_data.parent} does not exist")
        if args.save_data.exists() and not args.save_data.is_dir():
            raise CliError(f"--save-data {args.save_data}: is a file, expected a directory")


def run(ctx: CommandContext, args: argparse.Namespace) -> int:
    from ..documents import check_output_directory, write_atomically
    from ..run_report import SavedFiles, gather_report, load_report, read_extras, render_html, save_report_data

    offline = args.from_dir is not None or args.offline
    _check_usage(args, offline)
    check_output_directory(args.out, "--out")
    created_at = ctx.utc_now().isoformat()
    if offline:
        report = load_report(SavedFiles(args.from_dir, tuple(args.metrics or ()), args.grader_metrics,
                                        args.preflight, args.compare), created_at)
    else:
        # The given files are read before any AWS call: a typo costs nothing.
        preflight, compare = read_extras(args.preflight, args.compare)
        given = [(what, str(path)) for what, path in (("preflight", args.preflight), ("compare", args.compare)) if path]
        report = gather_report(ctx, args.job, preflight=preflight, compare=compare, sources=given)
    for note in [*report.run.notes, *(report.metrics.notes if report.metrics else []),
                 *(report.grader.notes if report.grader else [])]:
        ctx.note(note)
    page = render_html(report)
    write_atomically(args.out, page, "--out")
    ctx.print(f"report: {args.out} ({len(page.encode('utf-8')) // 1024} KB)")
    if args.save_data is not None:
        args.save_data.mkdir(exist_ok=True)
        for path in save_report_data(report, args.save_data, args.preflight, args.compare):
            ctx.print(f"saved: {path}")
    return EXIT_OK
