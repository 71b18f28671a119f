"""The ``runbinder`` command. Only wiring: the work is done by the core modules.

Imports stay inside the subcommands so that ``runbinder validate``, which
pre-commit runs on every commit, never pays for MkDocs or Markdown.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .diagnostics import FORMATS, printable

if TYPE_CHECKING:
    from .alerts import Coverage
    from .diagnostics import Diagnostic

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


def _project_argument(parser: argparse.ArgumentParser) -> None:
    """The optional PATH of the commands that read one runbook project."""
    parser.add_argument(
        "path",
        nargs="?",
        type=Path,
        default=Path("runbooks"),
        metavar="PATH",
        help="the runbook project (default: ./runbooks)",
    )


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

    check = commands.add_parser(
        "check",
        help="validate, then check every command and link, and review dates",
        description=(
            "Everything `validate` checks, then every command (syntax by the real parser of its language, "
            "ShellCheck, tools inventory, unmarked destructive operations, literal secrets), every link "
            "(offline by default; --online fetches external URLs), a built site's internal links (--site) "
            "and overdue reviews. Exit status: 0 no errors, 1 problems found, 2 usage error."
        ),
    )
    check.add_argument(
        "paths", nargs="*", type=Path, metavar="PATH", help="files or directories to check (default: ./runbooks)"
    )
    check.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    check.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    check.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary line")
    check.add_argument(
        "--select",
        action="append",
        default=[],
        metavar="RULE",
        help="report only these rules (prefixes such as shellcheck, globs; repeatable, or comma-separated)",
    )
    check.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="RULE",
        help="do not report these rules (same forms as --select)",
    )
    check.add_argument(
        "--stale",
        choices=("warning", "error"),
        default="warning",
        help="level for runbooks overdue for review (default: warning)",
    )
    check.add_argument(
        "--as-of",
        type=_iso_date,
        metavar="YYYY-MM-DD",
        help="judge review dates as of this day instead of today (e.g. what will be overdue by the next rotation)",
    )
    check.add_argument(
        "--shellcheck-level",
        choices=("error", "warning", "info", "style"),
        default="warning",
        help="lowest ShellCheck severity reported (default: warning)",
    )
    check.add_argument("--site", type=Path, metavar="DIR", help="also check every href/src/#fragment of a built site")
    check.add_argument(
        "--docs-dir",
        type=Path,
        metavar="DIR",
        help="hand-written pages relative links may point to (default: ./docs if it exists)",
    )
    check.add_argument("--online", action="store_true", help="also fetch external http(s) links")
    check.add_argument(
        "--skip-host",
        action="append",
        default=[],
        metavar="HOST",
        help="host (glob) never fetched online; example domains are always skipped",
    )
    check.add_argument(
        "--timeout",
        type=_duration(positive=True),
        default=10.0,
        metavar="SECONDS",
        help="total time per external URL, everything included: connection, TLS, answer, retries on 429/503, "
        "redirects and Retry-After waits; a URL still unanswered then is reported dead (default: 10)",
    )
    check.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(".runbinder-cache"),
        help="where online results are cached (default: .runbinder-cache)",
    )
    check.add_argument(
        "--cache-ttl",
        type=_duration(positive=False),
        default=24.0,
        metavar="HOURS",
        help="hours an online result stays valid (default: 24; 0 fetches every URL again)",
    )
    check.add_argument(
        "--no-cache",
        action="store_true",
        help="run bash -n and ShellCheck on every command instead of reusing the verdicts kept in --cache-dir "
        "(by command text and tool version; nothing is read or written there) and, with --online, fetch every URL "
        "again (as --cache-ttl 0)",
    )

    check.add_argument(
        "--rules",
        nargs="+",
        action="extend",
        default=[],
        metavar="FILE_OR_GLOB",
        help="also check these Prometheus rule files against the runbooks, as `runbinder alerts` does",
    )

    alerts = commands.add_parser(
        "alerts",
        help="check alerting rules against the runbooks: rules without a runbook, runbook_url, stale runbook alerts",
        description=(
            "Read Prometheus rule files and Kubernetes PrometheusRule manifests and the runbook project at PATH, and "
            "classify every alerting rule and every runbook alert: a rule no runbook handles (alert.no-runbook), a "
            "runbook_url that does not lead to the alert's page (alert.runbook-url), a rule two runbooks claim "
            "(alert.ambiguous), a runbook alert no rule fires (runbook.no-rule, a warning). --write-urls points "
            "every handled rule's runbook_url at its alert's page, editing the files in place. "
            "Exit status: 0 no errors, 1 problems found, 2 usage error."
        ),
    )
    _project_argument(alerts)
    alerts.add_argument(
        "--rules",
        nargs="+",
        action="extend",
        required=True,
        metavar="FILE_OR_GLOB",
        help="rule files, directories or globs (quote them: `**` is expanded here); give PATH before --rules",
    )
    alerts.add_argument(
        "--site-url",
        metavar="URL",
        help="the published site's address: runbook_url must then be exactly the alert's page under it",
    )
    alerts.add_argument(
        "--directory-urls",
        action="store_true",
        help="the site is built with use_directory_urls: true (alerts/#alert-X, not alerts.html#alert-X)",
    )
    alerts.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    alerts.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    alerts.add_argument("-q", "--quiet", action="store_true", help="print no summary line")
    alerts.add_argument(
        "--write-urls",
        action="store_true",
        help="set the runbook_url of every rule a runbook handles to its alert's page (needs --site-url), "
        "in place, keeping comments and layout",
    )
    alerts.add_argument("--dry-run", action="store_true", help="with --write-urls: print the diff, write nothing")

    binder = commands.add_parser(
        "binder",
        help="print the incident binder: one PDF with everything, for when the site or the network is down",
        description="Validate the runbooks, then print them, with the severity matrix, escalation tables, "
        "contacts and templates first, to a PDF through headless Chromium. The PDF is written atomically.",
    )
    _project_argument(binder)
    binder.add_argument(
        "-o", "--output", type=Path, default=Path("binder.pdf"), help="PDF to write (default: binder.pdf)"
    )
    binder.add_argument("--paper", choices=("a4", "letter"), default="a4", help="paper size (default: a4)")
    binder.add_argument(
        "--site-url", metavar="URL", help="published site address: each runbook gets a QR code of its page"
    )
    binder.add_argument(
        "--chromium",
        metavar="PATH",
        help="Chromium or Chrome executable (default: RUNBINDER_CHROMIUM, "
        "then chromium on PATH, then a browser Playwright installed)",
    )
    binder.add_argument(
        "--skip-without-chromium",
        action="store_true",
        help="when no Chromium is found, say so in one line and exit 0 (for `make site`)",
    )
    binder.add_argument(
        "--service",
        action="append",
        default=[],
        metavar="ID",
        help="only this service and its runbooks after the quick reference (repeatable)",
    )
    binder.add_argument(
        "--team",
        action="append",
        default=[],
        metavar="TEAM",
        help="only the services and runbooks this team owns after the quick reference (repeatable)",
    )
    binder.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(".runbinder-cache"),
        help="where drawn diagrams are kept for the next run (default: .runbinder-cache)",
    )
    binder.add_argument("--no-cache", action="store_true", help="draw every diagram again; keep none")

    importer = commands.add_parser(
        "import",
        help="turn existing Markdown runbooks into a validated runbinder project",
        description="Read Markdown runbooks (files or folders) and write one runbook YAML per runbook into PROJECT, "
        "with the pages they link to (pages/), their images (images/) and a catalog when there is none. Layouts: "
        "the prometheus-operator and OpenShift alert runbook collections, and general Markdown (each second-level "
        "heading a runbook); auto decides per file. Never overwrites a file without --force. Exit status: 0 "
        "imported, 2 usage error or a file that would be overwritten.",
    )
    importer.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="Markdown files or folders")
    importer.add_argument("-o", "--output", type=Path, required=True, metavar="PROJECT", help="the runbook project")
    importer.add_argument("--format", choices=("auto", "prometheus-operator", "openshift", "markdown"), default="auto")
    importer.add_argument("--service", metavar="ID", help="service id of every runbook (default: from the folder)")
    importer.add_argument("--owner", metavar="TEAM", help="owning team's id (default: a TODO team in the catalog)")
    importer.add_argument("--force", action="store_true", help="overwrite files that exist")

    init = commands.add_parser(
        "init",
        help="create a new runbook site: mkdocs.yml, a catalog, an example runbook, a pre-commit hook",
        description="Create a runbook site in DIR that `mkdocs build --strict` builds as it is. "
        "Refuses to overwrite existing files.",
    )
    init.add_argument("directory", type=Path, metavar="DIR", help="where to create the site (created if missing)")
    init.add_argument(
        "--generator",
        choices=("mkdocs", "properdocs"),
        default="mkdocs",
        help="build the site with MkDocs 1.6 (mkdocs.yml, the default) or ProperDocs (properdocs.yml)",
    )
    _render_parser(commands)
    return parser


def _render_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    render = commands.add_parser(
        "render",
        help="write the site's pages, assets and navigation as files for Zensical, TechDocs or plain MkDocs",
        description="Validate the runbooks (and with --check, check them), then write everything the MkDocs plugin "
        "generates into DIR, a docs folder that Zensical, MkDocs or ProperDocs without the plugin, or Backstage "
        "TechDocs builds as ordinary pages: every page as Markdown, the vendored mermaid and search shim, the "
        "stylesheets, the print page, the project's images, and DIR/.runbinder/mkdocs.yml (navigation, stylesheets, "
        "scripts, Markdown extensions) for the site's mkdocs.yml to take in with INHERIT. Only files whose content "
        "changed are written (each atomically); pages whose runbook is gone are removed; files runbinder did not "
        "write are never touched. Exit status: 0 written, 1 problems found (nothing written), 2 usage error.",
    )
    _project_argument(render)
    render.add_argument("-o", "--output", type=Path, required=True, metavar="DIR", help="the docs folder to write")
    render.add_argument("--check", action="store_true", help="also run `runbinder check` (offline) first")
    render.add_argument("--strict", action="store_true", help="stop on warnings too")
    render.add_argument("--format", choices=FORMATS, default="text", help="format of problems (default: text)")
    render.add_argument(
        "--directory-urls",
        action="store_true",
        help="the site is built with use_directory_urls: true (links in runbook prose are written for it)",
    )
    render.add_argument(
        "--nav", choices=("auto", "full", "overview"), default="auto", help="navigation, as the plugin's nav option"
    )
    render.add_argument("--no-print-page", action="store_true", help="leave out print.html")
    render.add_argument("--site-url", metavar="URL", help="the published address: QR codes in the print page")
    render.add_argument(
        "--rules",
        nargs="+",
        action="extend",
        default=[],
        metavar="FILE_OR_GLOB",
        help="Prometheus rule files: the alerts index shows each alert's rules, as the plugin's alert_rules",
    )
    render.add_argument("-q", "--quiet", action="store_true", help="print only problems")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "validate":
            return _validate(args)
        if args.command == "alerts":
            return _alerts(args)
        if args.command == "init":
            return _init(args)
        if args.command == "import":
            return _import(args)
        if args.command == "check":
            return _check(args)
        if args.command == "binder":
            return _binder(args)
        if args.command == "render":
            return _render(args)
    except KeyboardInterrupt:
        print("runbinder: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a crash is a bug, but the user still gets one readable line
        if os.environ.get("RUNBINDER_DEBUG"):
            raise
        # The exception may quote a file's content: control characters escaped, so it stays one line.
        print(
            f"runbinder: internal error: {type(exc).__name__}: {printable(str(exc))}\n"
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
    from .init import InitError, init

    target: Path = args.directory
    try:
        written = init(target, args.generator)
    except FileExistsError as exc:
        print(f"runbinder init: would overwrite existing files, nothing written: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except InitError as exc:
        written_list = ", ".join(str(p) for p in exc.written)
        done = f"; written before that: {written_list}" if exc.written else "; nothing written"
        print(f"runbinder init: stopped: {printable(exc.reason)}{done}", file=sys.stderr)
        return EXIT_PROBLEMS
    for path in written:
        print(f"created {path}")
    print(
        f"\nNext:\n  cd {target}\n  runbinder validate\n"
        f"  {args.generator} build --strict   # or: {args.generator} serve\n"
        "  pre-commit install       # check runbooks on every commit"
    )
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    from .importer import ImportError_, ImportOptions, import_paths

    service = args.service
    if service is not None and not re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?", service):
        print(f"runbinder import: --service {service!r}: use lower-case letters, digits and hyphens", file=sys.stderr)
        return EXIT_USAGE
    if args.owner is not None and not re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?", args.owner):
        print(f"runbinder import: --owner {args.owner!r}: use lower-case letters, digits and hyphens", file=sys.stderr)
        return EXIT_USAGE
    options = ImportOptions(format=args.format, service=service, owner=args.owner, force=args.force)
    try:
        report = import_paths(args.paths, args.output, options)
    except ImportError_ as exc:
        print(f"runbinder import: {printable(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    for path in report.written:
        print(f"wrote {printable(str(path))}")
    for source, why in report.unplaced:
        print(f"could not place {printable(source)}: {why}", file=sys.stderr)
    formats = ", ".join(f"{n} {f}" for f, n in sorted(Counter(report.formats.values()).items()))
    print(
        f"\n{report.runbooks} runbooks ({formats}), {report.pages} shared pages, {report.images} images; "
        f"{report.todo_variables} placeholders to describe (TODO).\n"
        f"Next: runbinder validate {printable(str(args.output))}; review each runbook's provenance.review.",
        file=sys.stderr,
    )
    return EXIT_OK


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in YYYY-MM-DD form: {text!r}") from None


def _duration(positive: bool) -> Callable[[str], float]:
    """An argparse type for a finite duration: a timer cannot take NaN or infinity, nor a deadline 0."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0 or (positive and value == 0):
            raise argparse.ArgumentTypeError(f"not a {'positive' if positive else 'non-negative'} number: {text!r}")
        return value

    return parse


def _rules(values: list[str]) -> list[str]:
    return [rule.strip() for value in values for rule in value.split(",") if rule.strip()]


def _check(args: argparse.Namespace) -> int:
    from .checks import select
    from .checks.links import DEFAULT_SKIP_HOSTS, OnlineOptions, check_site
    from .checks.runner import CheckOptions, Runner
    from .diagnostics import format_diagnostics, summary
    from .render import kept
    from .validate import UsageError, display_path, expand, find_root, load_project

    paths: list[Path] = args.paths or [Path("runbooks")]
    if not args.paths and not paths[0].is_dir():
        print("runbinder check: no PATH given and there is no ./runbooks directory", file=sys.stderr)
        return EXIT_USAGE
    if args.site is not None and not args.site.is_dir():
        print(f"runbinder check: --site {args.site}: no such directory", file=sys.stderr)
        return EXIT_USAGE
    try:
        selected = expand(paths)
    except UsageError as exc:
        print(f"runbinder check: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.rules and (unmatched := _unmatched_rules(args.rules)):
        print(f"runbinder check: --rules {unmatched}", file=sys.stderr)
        return EXIT_USAGE
    cwd = Path.cwd()
    docs_dir = args.docs_dir or (Path("docs") if Path("docs").is_dir() else None)
    options = CheckOptions(
        online=args.online,
        online_options=OnlineOptions(
            timeout=args.timeout,
            cache_dir=args.cache_dir,
            cache_ttl=0 if args.no_cache else args.cache_ttl * 3600,
            skip_hosts=(*DEFAULT_SKIP_HOSTS, *args.skip_host),
        ),
        stale=args.stale,
        today=args.as_of or date.today(),
        shellcheck_level=args.shellcheck_level,
        select=_rules(args.select),
        ignore=_rules(args.ignore),
        docs_dir=docs_dir,
        cache_dir=None if args.no_cache else args.cache_dir,
    )
    show_progress = args.format == "text" and not args.quiet and sys.stderr.isatty()
    diagnostics = []
    roots: dict[Path | None, list[Path]] = {}
    for file in selected:
        root = find_root(file)
        roots.setdefault(root.resolve() if root else None, []).append(file)
    # Files that loaded cleanly in an earlier check or build are read back, not parsed (render/kept.py).
    kept_files = kept.load_documents(options.cache_dir) if options.cache_dir is not None else {}
    known, loaded = dict(kept_files), []
    for root, files in roots.items():
        project = load_project(root, files, cwd, kept_files)
        loaded += project.documents
        runner = Runner(project, options)
        found = list(project.diagnostics) + runner.run_all(_progress if show_progress else None)
        shown = {display_path(p, cwd) for p in files}
        diagnostics += [d for d in found if d.path in shown or d in project.diagnostics]
        if args.rules and root is not None:
            alert_findings = _alert_coverage(root, args.rules, cwd, None, False)[1].diagnostics
            diagnostics += [d for d in select(alert_findings, options.select, options.ignore) if d not in diagnostics]
    if options.cache_dir is not None:
        kept.save_documents(options.cache_dir, loaded, known, merge=True)
    if args.site is not None:
        diagnostics += check_site(args.site, display_path(args.site, cwd), None if args.no_cache else args.cache_dir)
    if show_progress:
        print("\r\033[K", end="", file=sys.stderr)
    sys.stdout.write(format_diagnostics(diagnostics, args.format))
    if args.format == "text" and not args.quiet:
        print(summary(diagnostics, len(selected)), file=sys.stderr)
    failing = [d for d in diagnostics if d.level == "error" or args.strict]
    return EXIT_PROBLEMS if failing else EXIT_OK


@contextlib.contextmanager
def _interrupt_on_termination(stopped: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGHUP end the run the way Ctrl-C does, so the browser is closed and temporary files removed
    (the default would kill Python without running any cleanup). Each of the three also sets ``stopped``, which the
    work checks before it writes anything: a library that catches the KeyboardInterrupt cannot make it carry on."""
    stopped.clear()

    def interrupt(signum: int, frame: object) -> None:
        stopped.set()
        raise KeyboardInterrupt

    # A run started as a background job has SIGINT ignored (so the terminal's Ctrl-C is not its to answer): kept so.
    signals = [signal.SIGTERM, signal.SIGHUP]
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signals.append(signal.SIGINT)
    previous = {sig: signal.signal(sig, interrupt) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        stopped.clear()  # a later run in this process (a test, an embedding program) starts unstopped


def _progress(done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    print(f"\r[{'#' * filled}{' ' * (width - filled)}] {done}/{total} checks", end="", file=sys.stderr, flush=True)


def _binder(args: argparse.Namespace) -> int:
    from .diagnostics import format_diagnostics
    from .validate import find_root, load_project

    root = find_root(args.path) if args.path.exists() else None
    if root is None:
        print(f"runbinder binder: {args.path}: no catalog.yaml here or above", file=sys.stderr)
        return EXIT_USAGE
    try:
        from .binder import NO_CHROMIUM, STOPPED, BinderError, BinderOptions, find_chromium, git_revision, make_binder
    except ImportError as exc:
        print(f"runbinder binder: {exc.name} is missing: pip install 'runbinder[binder]'", file=sys.stderr)
        return EXIT_PROBLEMS
    chromium = find_chromium(args.chromium)
    if chromium is None:
        if args.skip_without_chromium:
            print(f"runbinder binder: skipped: {NO_CHROMIUM}", file=sys.stderr)
            return EXIT_OK
        print(f"runbinder binder: {NO_CHROMIUM}", file=sys.stderr)
        return EXIT_PROBLEMS
    project = load_project(root, None, Path.cwd(), beside=True)
    errors = [d for d in project.diagnostics if d.level == "error"]
    if errors:
        sys.stdout.write(format_diagnostics(errors, "text"))
        print(f"runbinder binder: {len(errors)} error(s) in the runbooks; no binder written", file=sys.stderr)
        return EXIT_PROBLEMS
    unknown = _unknown_ids(args.service, project.index["services"], "service") or _unknown_ids(
        args.team, {k: v for k, v in project.index["contacts"].items() if v.data.get("type") == "team"}, "team"
    )
    if unknown:
        print(f"runbinder binder: {unknown}", file=sys.stderr)
        return EXIT_USAGE
    options = BinderOptions(
        paper=args.paper,
        site_url=args.site_url,
        chromium=chromium,
        revision=git_revision(root),
        services=args.service,
        teams=args.team,
        cache_dir=None if args.no_cache else args.cache_dir,
    )
    try:
        with _interrupt_on_termination(STOPPED):
            output, pages, _ = make_binder(project.index, args.output, options)
    except BinderError as exc:
        print(f"runbinder binder: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    print(f"wrote {output} ({pages} pages)")
    return EXIT_OK


def _unknown_ids(wanted: Sequence[str], known: Mapping[str, object], what: str) -> str | None:
    """Why --service/--team names nothing the project has (with a suggestion), or None."""
    import difflib

    for ident in wanted:
        if ident not in known:
            close = difflib.get_close_matches(ident, list(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (the project has: {', '.join(sorted(known)[:8])})"
            return f"no {what} {printable(ident)!r}{hint}"
    return None


def _unmatched_rules(patterns: Sequence[str]) -> str | None:
    """What to say about the first rule pattern that names no file, or None."""
    from .rules import expand as expand_rules

    _, empty = expand_rules(patterns, Path.cwd())
    return f"{empty[0]!r}: no such file, and no YAML file matches it" if empty else None


def _alert_coverage(
    root: Path, patterns: Sequence[str], cwd: Path, site_url: str | None, directory_urls: bool
) -> tuple[list[Diagnostic], Coverage]:
    """The runbook project's own errors and the alerts check of ``patterns`` against it (the whole project: every
    runbook alert counts, whichever files were named)."""
    from .alerts import check as check_alerts
    from .validate import load_project, safe_view

    project = load_project(root, None, cwd, beside=True)
    errors = [d for d in project.diagnostics if d.level == "error"]
    coverage, _ = check_alerts(
        safe_view(project).index, patterns, cwd, cwd, site_url=site_url, directory_urls=directory_urls
    )
    return errors, coverage


def _alerts(args: argparse.Namespace) -> int:
    import json

    from .alerts import write_urls
    from .diagnostics import _JSON_UNSAFE, _json_escape, format_diagnostics  # the json format's own escaping
    from .validate import find_root

    root = find_root(args.path) if args.path.exists() else None
    if root is None:
        print(f"runbinder alerts: {args.path}: no catalog.yaml here or above", file=sys.stderr)
        return EXIT_USAGE
    if args.dry_run and not args.write_urls:
        print("runbinder alerts: --dry-run goes with --write-urls", file=sys.stderr)
        return EXIT_USAGE
    if args.write_urls and not args.site_url:
        print("runbinder alerts: --write-urls needs --site-url: runbook_url must be an absolute URL", file=sys.stderr)
        return EXIT_USAGE
    if unmatched := _unmatched_rules(args.rules):
        print(f"runbinder alerts: --rules {unmatched}", file=sys.stderr)
        return EXIT_USAGE
    cwd = Path.cwd()
    errors, coverage = _alert_coverage(root, args.rules, cwd, args.site_url, args.directory_urls)
    refused: list[Diagnostic] = []
    if args.write_urls:
        writes = write_urls(coverage, dry_run=args.dry_run)
        refused = writes.refused
        if args.dry_run:
            for diff in writes.diffs.values():
                sys.stdout.write("".join(printable(line) + "\n" for line in diff.splitlines()))
            sys.stdout.write(format_diagnostics(refused, "text") if args.format == "text" else "")
            count = sum(writes.written.values())
            print(f"would set {count} runbook_url(s) in {len(writes.written)} file(s)", file=sys.stderr)
            return EXIT_PROBLEMS if refused else EXIT_OK
        for display, count in writes.written.items():
            print(f"set {count} runbook_url(s) in {printable(display)}", file=sys.stderr)
        # What is left to do, read from the files as they now are.
        errors, coverage = _alert_coverage(root, args.rules, cwd, args.site_url, args.directory_urls)
    found = [*errors, *coverage.diagnostics, *refused]
    if args.format == "json":
        report = coverage.report(extra=[*errors, *refused])
        sys.stdout.write(_JSON_UNSAFE.sub(_json_escape, json.dumps(report, indent=2, ensure_ascii=False)) + "\n")
    else:
        sys.stdout.write(format_diagnostics(found, args.format))
    if args.format == "text" and not args.quiet:
        print(_alerts_summary(coverage.summary()), file=sys.stderr)
    failing = [d for d in found if d.level == "error" or args.strict]
    return EXIT_PROBLEMS if failing else EXIT_OK


def _alerts_summary(counts: dict[str, int]) -> str:
    def n(count: int, one: str, many: str | None = None) -> str:
        return f"{count} {one if count == 1 else (many or one + 's')}"

    several = counts["names_at_several_severities"]
    return (
        f"{n(counts['rule_files'], 'rule file')}: {n(counts['rules'], 'alerting rule')} "
        f"({n(counts['alert_names'], 'alert name')}, {several} at several severities), "
        f"{n(counts['runbook_alerts'], 'runbook alert')}; "
        f"{n(counts['names_without_runbook'], 'alert')} without a runbook "
        f"({n(counts['rules_without_runbook'], 'rule')}), "
        f"{n(counts['runbook_urls_missing'] + counts['runbook_urls_wrong'], 'runbook_url')} to fix, "
        f"{n(counts['rules_ambiguous'], 'rule')} claimed by several runbooks, "
        f"{n(counts['runbook_alerts_without_rule'], 'runbook alert')} without a rule"
    )


def _render(args: argparse.Namespace) -> int:
    from .diagnostics import format_diagnostics
    from .export import ExportError, RenderOptions, hand_written_pages, site_files, today, write_site
    from .validate import find_root, load_project, safe_view

    root = find_root(args.path) if args.path.exists() else None
    if root is None:
        print(f"runbinder render: {args.path}: no catalog.yaml here or above", file=sys.stderr)
        return EXIT_USAGE
    if args.rules and (unmatched := _unmatched_rules(args.rules)):
        print(f"runbinder render: --rules {unmatched}", file=sys.stderr)
        return EXIT_USAGE
    output: Path = args.output
    if output.exists() and not output.is_dir():
        print(f"runbinder render: -o {output}: not a directory", file=sys.stderr)
        return EXIT_USAGE
    cwd = Path.cwd()
    day = today()
    project = load_project(root, None, cwd, beside=True)
    found = list(project.diagnostics)
    if args.check and not any(d.level == "error" for d in found):
        from .checks.runner import CheckOptions, Runner

        options = CheckOptions(today=day, docs_dir=output if output.is_dir() else None)
        found += Runner(project, options).run_all()
    coverage = None
    if args.rules and not any(d.level == "error" for d in found):
        from .alerts import check as check_alerts

        coverage, _ = check_alerts(
            safe_view(project).index, args.rules, cwd, cwd, site_url=args.site_url, directory_urls=args.directory_urls
        )
        found += coverage.diagnostics
    sys.stdout.write(format_diagnostics(sorted(found), args.format))
    failing = [d for d in found if d.level == "error" or args.strict]
    if failing:
        print(f"runbinder render: {len(failing)} problem(s); nothing written to {output}", file=sys.stderr)
        return EXIT_PROBLEMS
    render_options = RenderOptions(
        today=day,
        directory_urls=args.directory_urls,
        docs_pages=hand_written_pages(output),
        nav=args.nav,
        print_page=not args.no_print_page,
        site_url=args.site_url,
        coverage=coverage,
    )
    try:
        site = site_files(project.index, render_options)
        report = write_site(output, site)
    except ExportError as exc:
        print(f"runbinder render: {printable(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    if not args.quiet:
        for path in report.written:
            print(f"wrote {printable(str(output / path))}")
        for path in report.removed:
            print(f"removed {printable(str(output / path))}")
        for path in report.kept:
            print(f"kept {printable(str(output / path))}: edited since runbinder wrote it", file=sys.stderr)
        print(
            f"{len(report.written)} written, {report.unchanged} unchanged, {len(report.removed)} removed in {output}",
            file=sys.stderr,
        )
    return EXIT_OK
