"""Argument parsing and exit codes of ``python -m ops``.

``main(argv, clients=..., runtime=...)`` is also the test entry point: tests inject a
simulated EMR or stubbed clients and a fake clock, so nothing waits for real.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import traceback
from collections.abc import Sequence
from typing import TextIO

from emr_constructs.model.contract import local_state_file
from ops.aws import AwsClients, aws_errors
from ops.cluster import STATIC_A, STATIC_B
from ops.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_REFUSED, OpsError
from ops.rotation import DEFAULT_POLL, DEFAULT_TIMEOUT, MIN_POLL, Rotator
from ops.runtime import Runtime

EPILOG = """exit codes: 0 done (or plan printed without --yes); 1 operation failed (e.g. Spot
shortage timeout; the old group is left untouched); 2 refused or bad usage (nothing
changed); 3 AWS credentials or access denied; 130 interrupted (re-run to continue)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits 2 on usage errors, which is our code for it too
        self.print_usage(sys.stderr)
        self.exit(EXIT_REFUSED, f"{self.prog}: error: {message}\n")


def _seconds(minimum: float):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r}: not a finite number of seconds")
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r}: must be at least {minimum:g} seconds")
        return value

    return parse


def _static_group(text: str) -> str:
    names = {"a": STATIC_A, "b": STATIC_B, STATIC_A: STATIC_A, STATIC_B: STATIC_B}
    if text not in names:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a, b, {STATIC_A} or {STATIC_B}")
    return names[text]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m ops", description="Operate the emr-cdktf EMR clusters.", epilog=EPILOG)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def aws_options(p, *, region: bool = True):
        p.add_argument("--profile", type=_text_argument, help="AWS profile (default: the usual AWS configuration)")
        if region:
            p.add_argument(
                "--region",
                type=_region_argument,
                help="AWS region of the cluster (default: the usual AWS configuration)",
            )

    def state_option(p):
        p.add_argument(
            "--state",
            metavar="PATH|s3://BUCKET/KEY",
            help="the stack's Terraform state, which names the instance groups Terraform manages (default: "
            f"{local_state_file('<environment>', '<stack>')} in the project root, from the cluster's tags, if it "
            "exists; else the newest group of each name is taken as the live one)",
        )

    status = sub.add_parser("status", help="instance groups, active static Spot group, fixed IP holder", epilog=EPILOG)
    status.add_argument(
        "cluster",
        metavar="CLUSTER",
        type=_text_argument,
        help="cluster name (e.g. spark-batch-production-01) or id (j-...)",
    )
    state_option(status)
    aws_options(status)

    rotate = sub.add_parser(
        "rotate-spot",
        help="renew the static Spot task instances: grow the idle group, then shrink the active one",
        epilog=EPILOG,
    )
    rotate.add_argument("cluster", metavar="CLUSTER", type=_text_argument, help="cluster name or id")
    rotate.add_argument("--yes", action="store_true", help="apply the plan (without it nothing changes)")
    rotate.add_argument(
        "--from",
        dest="from_group",
        type=_static_group,
        metavar="a|b",
        help="the group to replace when both static groups are active (e.g. a new cluster, whose idle "
        "side starts with 1 instance); a, b or the full group name",
    )
    rotate.add_argument(
        "--timeout",
        type=_seconds(0),
        default=DEFAULT_TIMEOUT,
        help=f"seconds to wait for the new group to be fully running (default {DEFAULT_TIMEOUT:g})",
    )
    rotate.add_argument(
        "--poll",
        type=_seconds(MIN_POLL),
        default=DEFAULT_POLL,
        help=f"seconds between checks while waiting (default {DEFAULT_POLL:g}, minimum {MIN_POLL:g})",
    )
    state_option(rotate)
    aws_options(rotate)

    adoption = sub.add_parser(
        "adoption-report",
        epilog=EPILOG,
        help="which adopted resources ([adopt] in the environment) a saved plan keeps, updates or replaces",
    )
    adoption.add_argument(
        "plans", nargs="+", metavar="PLAN.json", help="terraform show -json <plan file> of a stack (one per stack)"
    )
    adoption.add_argument(
        "--fail-on-replace", action="store_true", help="exit 1 when an adopted resource would be replaced (for CI)"
    )

    prices = sub.add_parser("prices", help="on-demand price table used for Spot bid prices")
    prices_sub = prices.add_subparsers(dest="prices_command", required=True, parser_class=_Parser)
    refresh = prices_sub.add_parser(
        "refresh",
        help="rewrite the price table from the AWS Price List API",
        epilog=EPILOG,
    )
    refresh.add_argument("--region", required=True, help="region whose prices to refresh, e.g. ap-northeast-2")
    refresh.add_argument(
        "--instance-types",
        nargs="+",
        metavar="TYPE",
        help="instance types to (re)price (default: those already in the table for the region)",
    )
    refresh.add_argument(
        "--table", help="price table to rewrite (default: emr_constructs/model/data/on_demand_prices.json)"
    )
    aws_options(refresh, region=False)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    clients=None,
    runtime: Runtime | None = None,
    err: TextIO | None = None,
) -> int:
    try:
        return _main(argv, clients=clients, runtime=runtime, err=err)
    except Exception as exc:  # noqa: BLE001 - reported as a message, never a traceback
        if os.environ.get("EMR_CDKTF_DEBUG", "").strip() not in ("", "0"):
            traceback.print_exception(exc, file=err or sys.stderr)
        print(
            f"error: unexpected {type(exc).__name__}: {exc} (nothing more was attempted; set "
            "EMR_CDKTF_DEBUG=1 for the traceback)",
            file=err or sys.stderr,
            flush=True,
        )
        return EXIT_FAILED


def _text_argument(text: str) -> str:
    if not text or any(not ch.isprintable() for ch in text):
        raise argparse.ArgumentTypeError(f"{text!r}: empty or contains a control character")
    return text


def _region_argument(text: str) -> str:
    from emr_constructs.model.validation import region_problem

    problem = region_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"{text!r}: {problem}")
    return text


def _main(argv, *, clients, runtime, err) -> int:
    args = build_parser().parse_args(argv)
    rt = runtime or Runtime()
    err = err or sys.stderr
    if args.command == "adoption-report":
        from ops.adoption import adoption_report

        try:
            return adoption_report(args.plans, rt, fail_on_replace=args.fail_on_replace)
        except OpsError as exc:
            print(f"error: {exc}", file=err, flush=True)
            return exc.exit_code
    if clients is None:
        clients = AwsClients(
            profile=args.profile, region=getattr(args, "region", None) if args.command != "prices" else None
        )
    try:
        with aws_errors():
            if args.command == "status":
                from ops.status import render_status

                render_status(clients.emr, clients.ec2, args.cluster, rt, state=args.state, s3=lambda: clients.s3)
            elif args.command == "rotate-spot":
                Rotator(
                    clients.emr, rt, timeout=args.timeout, poll=args.poll, state=args.state, s3=lambda: clients.s3
                ).run(args.cluster, yes=args.yes, from_group=args.from_group)
            elif args.command == "prices":
                from ops.prices import refresh_prices, report

                refreshed = refresh_prices(
                    clients.pricing,
                    region=args.region,
                    instance_types=args.instance_types,
                    table_path=args.table,
                    rt=rt,
                )
                report(refreshed, region=args.region, rt=rt)
    except OpsError as exc:
        print(f"error: {exc}", file=err, flush=True)
        return exc.exit_code
    except KeyboardInterrupt:
        print(
            "\ninterrupted: nothing was rolled back. Run the same command again to continue from "
            "where the cluster is (rotate-spot resumes a half-done rotation).",
            file=err,
            flush=True,
        )
        return EXIT_INTERRUPTED
    return EXIT_OK
