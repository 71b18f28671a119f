"""The ``runbinder`` command. Only wiring: the work is done by the core modules.

Imports stay inside the subcommands so that ``runbinder validate``, which
pre-commit runs on every commit, never pays for MkDocs or Markdown.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .diagnostics import FORMATS

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runbinder",
        description="Incident runbooks as data: validate them, build the site, print the binder.",
    )
    parser.add_argument("--version", action="version", version=f"runbinder {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    validate = commands.add_parser(
        "validate",
        help="check runbook and catalog files against the schemas and each other",
        description=(
            "Check YAML runbooks and catalog files against the JSON Schemas, then check every "
            "reference (service, owner, severity, policy, contact, runbook, checklist, placeholder) "
            "against the whole project, which is the nearest directory holding catalog.yaml. "
            "Exit status: 0 no errors, 1 problems found, 2 usage error."
        ),
    )
    validate.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="files or directories to check (default: ./runbooks)",
    )
    validate.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    validate.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    validate.add_argument("-q", "--quiet", action="store_true", help="print no summary line")

    init = commands.add_parser(
        "init",
        help="create a new runbook site: mkdocs.yml, a catalog, an example runbook, a pre-commit hook",
        description="Create a runbook site in DIR that `mkdocs build --strict` builds as it is. "
        "Refuses to overwrite existing files.",
    )
    init.add_argument("directory", type=Path, metavar="DIR", help="where to create the site (created if missing)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "validate":
            return _validate(args)
        if args.command == "init":
            return _init(args)
    except KeyboardInterrupt:
        print("runbinder: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a crash is a bug, but the user still gets one readable line
        if os.environ.get("RUNBINDER_DEBUG"):
            raise
        print(
            f"runbinder: internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in runbinder; run again with RUNBINDER_DEBUG=1 for details.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    return EXIT_USAGE  # pragma: no cover - argparse requires a command


def _validate(args: argparse.Namespace) -> int:
    from .diagnostics import format_diagnostics, summary
    from .validate import UsageError, validate_paths

    paths: list[Path] = args.paths or [Path("runbooks")]
    if not args.paths and not paths[0].is_dir():
        print("runbinder validate: no PATH given and there is no ./runbooks directory", file=sys.stderr)
        return EXIT_USAGE
    try:
        diagnostics, files = validate_paths(paths)
    except UsageError as exc:
        print(f"runbinder validate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    sys.stdout.write(format_diagnostics(diagnostics, args.format))
    if args.format == "text" and not args.quiet:
        print(summary(diagnostics, files), file=sys.stderr)
    failing = [d for d in diagnostics if d.level == "error" or args.strict]
    return EXIT_PROBLEMS if failing else EXIT_OK


def _init(args: argparse.Namespace) -> int:
    from .init import init

    target: Path = args.directory
    try:
        written = init(target)
    except FileExistsError as exc:
        print(f"runbinder init: would overwrite existing files, nothing written: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for path in written:
        print(f"created {path}")
    print(
        f"\nNext:\n  cd {target}\n  runbinder validate\n  mkdocs build --strict   # or: mkdocs serve\n"
        "  pre-commit install       # check runbooks on every commit"
    )
    return EXIT_OK
