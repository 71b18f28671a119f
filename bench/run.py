"""runbinder benchmarks: `make bench` (or `.venv/bin/python bench/run.py [--quick]`).

Every ratio compares commands run side by side in this one run, on the same generated corpus, alternating
A B A B so that machine noise hits both. Medians are reported. Results go to bench/results.json.

Scenarios (see the README's performance section):
 1. validate 1,000 runbooks vs libyaml parse-only of the same files (the floor) and check-jsonschema
 2. a one-file pre-commit run
 3. floor: at N = 300 and 1,000, every build as a ratio to plain MkDocs + Material building the very same
    generated pages without the plugin (the plugin's Markdown written out as docs): the plugin with its checks,
    site link check and print page off; the plugin's defaults on a cold cache; and a second default build with
    nothing changed (warm cache). All four alternate, round after round.
 4. check: `runbinder check` of an unchanged project (the verdict cache warm) and of a cold one, against libyaml
    parse-only of the same files (target: parsing plus at most 1 s)
 5. mkdocs serve --dirty at N = 1,000 with the plugin's defaults: from saving one YAML file to the page served
 6. the binder PDF for 200 runbooks: time and pages
 (scaling, only with --only scaling: the plugin's share of a lean build at N = 100, 1,000 and 5,000.)
--quick runs fewer repetitions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# Bytecode caching as on a developer's machine (some CI images turn it off, which makes start-up look slower).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"NO_MKDOCS_2_WARNING": "1"}

PARSE_ONLY = """
import sys, yaml
from pathlib import Path
for path in sorted(Path(sys.argv[1]).rglob("*.yaml")):
    yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)
"""

# Runs a real `mkdocs build` in-process with the plugin's event handlers wrapped in timers.
INSTRUMENTED_BUILD = """
import json, sys, time
from mkdocs.commands.build import build
from mkdocs.config import load_config
from runbinder import plugin as p
spent = {"plugin": 0.0}
def timed(fn):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent["plugin"] += time.perf_counter() - start
    return wrapper
for name in ("on_config", "on_files", "on_pre_build", "on_post_build"):
    setattr(p.RunbinderPlugin, name, timed(getattr(p.RunbinderPlugin, name)))
start = time.perf_counter()
config = load_config(sys.argv[1])
build(config)
total = time.perf_counter() - start
print(json.dumps({"total": total, "plugin": spent["plugin"]}))
"""

MKDOCS_YML = """site_name: Bench
use_directory_urls: false
theme: {name: material, font: false}
plugins:
  - search
  - runbinder:
      checks: "off"
      check_site: false
      print_page: false
"""

MKDOCS_DEFAULT_YML = """site_name: Bench
use_directory_urls: false
theme: {name: material, font: false}
plugins:
  - search
  - runbinder
"""

NAV_FULL_LIMIT = 300  # the plugin's default: the floor gets the navigation the plugin would generate


# Gives the floor's process the fragments the dump's process generated (see FLOOR_DUMP).
FLOOR_HOOK = """
import json, re
from pathlib import Path
from runbinder import safe
_data = json.loads((Path(__file__).parent / "floor-fragments.json").read_text(encoding="utf-8"))
safe.FRAGMENTS.nonce = _data["nonce"]
safe.FRAGMENTS.pattern = re.compile("rbfrag" + _data["nonce"] + "([0-9a-f]{32})")
safe.FRAGMENTS.store.update(_data["store"])
"""

# Writes the plugin's generated pages out as a plain docs folder and an mkdocs.yml without the plugin: the same
# Markdown, the same navigation, stylesheets, scripts and Markdown extensions, built by MkDocs and Material alone.
FLOOR_DUMP = r"""
import json, shutil, sys
from pathlib import Path
from runbinder.plugin import ASSETS, IFRAME_WORKER_JS, MERMAID_JS, SEVERITY_CSS, STYLESHEET, WORKER_FRAME_JS, _today
from runbinder import safe
from runbinder.render.site import SiteRenderer, severity_css
from runbinder.validate import load_project

project_dir, full = Path(sys.argv[1]), sys.argv[2] == "full"
docs = project_dir / "docs-floor"
shutil.rmtree(docs, ignore_errors=True)
project = load_project(project_dir / "runbooks", None, project_dir)
renderer = SiteRenderer(project.index, today=_today(), directory_urls=False, docs_pages=frozenset())
def write(path, text):
    (docs / path).parent.mkdir(parents=True, exist_ok=True)
    (docs / path).write_text(text, encoding="utf-8")
for path, page in renderer.pages().items():
    write(path, page.document())
vendor = ASSETS / "vendor"
for dest, source in (
    (MERMAID_JS, vendor / "mermaid" / "mermaid.min.js"),
    (IFRAME_WORKER_JS, ASSETS / "iframe-worker-shim.js"),
    (WORKER_FRAME_JS, ASSETS / "worker-frame.js"),
    (STYLESHEET, ASSETS / "runbinder.css"),
):
    write(dest, source.read_text(encoding="utf-8"))
write(SEVERITY_CSS, severity_css([e.data for e in project.index["severities"].values()]))
# The pages carry markers for their HTML fragments (highlighted commands, tables, forms), kept by this process.
# The floor's own process gets the same fragments back through a hook, so it builds the very same HTML.
(project_dir / "floor-fragments.json").write_text(
    json.dumps({"nonce": safe.FRAGMENTS.nonce, "store": safe.FRAGMENTS.store}), encoding="utf-8"
)
lines = [
    "site_name: Bench",
    "use_directory_urls: false",
    "docs_dir: docs-floor",
    "site_dir: site-floor",
    "theme: {name: material, font: false}",
    "plugins: [search]",
    "hooks: [floor_hook.py]",
    "extra_css: " + json.dumps([STYLESHEET, SEVERITY_CSS]),
    "extra_javascript: " + json.dumps([MERMAID_JS]),
    "extra: {polyfills: " + json.dumps([IFRAME_WORKER_JS]) + "}",
    "markdown_extensions:",
    "  - admonition",
    "  - attr_list",
    "  - tables",
    "  - toc",  # as the plugin leaves it: MkDocs lists toc among its built-in extensions
    "  - pymdownx.details",
    "  - pymdownx.highlight: {anchor_linenums: false}",
    "  - pymdownx.inlinehilite",
    "  - pymdownx.tasklist: {custom_checkbox: true}",
    "  - pymdownx.superfences:",
    "      custom_fences:",
    "        - name: mermaid",
    "          class: mermaid",
    "          format: !!python/name:pymdownx.superfences.fence_code_format",
    "  - runbinder.safe:FragmentExtension",
    "nav: " + json.dumps(renderer.nav(full=full)),
]
(project_dir / "mkdocs-floor.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
"""


def generate(count: int, directory: Path) -> Path:
    runbooks = directory / "runbooks"
    if runbooks.exists():  # the same N and seed give the same files: reuse them
        return runbooks
    subprocess.run(
        [sys.executable, "-m", "runbinder.bench.generate", str(count), str(runbooks)],
        check=True,
        capture_output=True,
        env=ENV,
    )
    (directory / "docs").mkdir(exist_ok=True)
    (directory / "mkdocs.yml").write_text(MKDOCS_YML, encoding="utf-8")
    return runbooks


def timed(command: list[str], cwd: Path | None = None, expect: int | tuple[int, ...] | None = 0) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=ENV, check=False)
    elapsed = time.perf_counter() - start
    allowed = (expect,) if isinstance(expect, int) else expect
    if allowed is not None and result.returncode not in allowed:
        raise SystemExit(f"{command[:3]} exited {result.returncode}: {result.stderr[-2000:]}")
    return elapsed


def runbook_files(runbooks: Path) -> list[Path]:
    """The generated runbooks (not the catalogs), in a stable order."""
    return sorted(p for p in runbooks.rglob("*.yaml") if not p.name.endswith("catalog.yaml"))


def alternate(
    commands: dict[str, list[str]], runs: int, cwd: Path | None = None, limit: dict[str, int] | None = None
) -> dict[str, float]:
    """Median seconds of each command, run in turn (A B C A B C ...); ``limit`` caps the runs of slow ones."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(runs):
        for name, command in commands.items():
            if round_ < (limit or {}).get(name, runs):
                samples[name].append(timed(command, cwd))
    return {name: statistics.median(values) for name, values in samples.items()}


def scenario_validate(work: Path, runs: int) -> dict[str, object]:
    runbooks = generate(1000, work / "n1000")
    files = runbook_files(runbooks)
    commands = {
        "libyaml parse-only": [sys.executable, "-c", PARSE_ONLY, str(runbooks)],
        "runbinder validate": [str(BIN / "runbinder"), "validate", "-q", str(runbooks)],
    }
    check_jsonschema = shutil.which("check-jsonschema", path=str(BIN)) or shutil.which("check-jsonschema")
    if check_jsonschema:
        commands["check-jsonschema"] = [
            check_jsonschema,
            "--schemafile",
            str(ROOT / "schemas" / "runbook.schema.json"),
            "--base-uri",  # our $ref's are relative to the schema file
            (ROOT / "schemas" / "runbook.schema.json").as_uri(),
            *map(str, files),
        ]
    # check-jsonschema takes about 25x longer: three runs at most (one with --quick).
    medians = alternate(commands, runs, limit={"check-jsonschema": 1 if runs <= 3 else 3})
    floor = medians["libyaml parse-only"]
    out: dict[str, object] = {
        "files": len(files) + len(list(runbooks.rglob("*catalog.yaml"))),
        "medians_s": medians,
        "validate_over_floor": medians["runbinder validate"] / floor,
    }
    if "check-jsonschema" in medians:
        out["check_jsonschema_over_validate"] = medians["check-jsonschema"] / medians["runbinder validate"]
    one = str(files[0])
    out["one_file_s"] = alternate({"one": [str(BIN / "runbinder"), "validate", "-q", one]}, max(runs, 5))["one"]
    return out


def instrumented_build(project: Path, config: str = "mkdocs.yml") -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-c", INSTRUMENTED_BUILD, str(project / config)],
        cwd=project,
        capture_output=True,
        text=True,
        env=ENV,
        check=True,
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def scenario_build(work: Path, sizes: list[int], runs: int) -> dict[str, object]:
    out: dict[str, object] = {}
    for size in sizes:
        project = work / f"build-{size}"
        generate(size, project)
        samples = [instrumented_build(project) for _ in range(runs if size <= 1000 else 1)]
        total = statistics.median(s["total"] for s in samples)
        plugin = statistics.median(s["plugin"] for s in samples)
        out[str(size)] = {
            "total_s": total,
            "plugin_s": plugin,
            "plugin_share": plugin / total,
            "ms_per_runbook": 1000 * total / size,
        }
    # The same 1,000 runbooks with the plugin's defaults: checks during the build, site link check, print page.
    project = work / "build-1000"
    if project.exists():
        (project / "mkdocs-default.yml").write_text(MKDOCS_DEFAULT_YML, encoding="utf-8")
        sample = instrumented_build(project, "mkdocs-default.yml")
        out["1000-defaults"] = {"total_s": sample["total"], "plugin_s": sample["plugin"]}
    first, last = str(sizes[0]), str(sizes[-1])
    out["per_runbook_growth"] = out[last]["ms_per_runbook"] / out[first]["ms_per_runbook"]  # type: ignore[index]
    return out


def alternate_rounds(
    commands: dict[str, list[str]],
    runs: int,
    cwd: Path,
    before: dict[str, list[Path]] | None = None,
    expect: dict[str, tuple[int, ...]] | None = None,
) -> dict[str, list[float]]:
    """Seconds of each command, run in turn round after round (A B C A B C ...). ``before`` names folders to
    delete before a command runs (a cold cache)."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            for folder in (before or {}).get(name, []):
                shutil.rmtree(folder, ignore_errors=True)
            samples[name].append(timed(command, cwd, (expect or {}).get(name, (0,))))
    return samples


def floor_project(size: int, work: Path) -> Path:
    """A generated project with three configurations: the floor (no plugin), lean, defaults."""
    project = work / f"build-{size}"
    generate(size, project)
    (project / "docs").mkdir(exist_ok=True)
    (project / "mkdocs-lean.yml").write_text(MKDOCS_YML, encoding="utf-8")
    (project / "mkdocs-default.yml").write_text(MKDOCS_DEFAULT_YML, encoding="utf-8")
    full = "full" if size <= NAV_FULL_LIMIT else "overview"
    subprocess.run([sys.executable, "-c", FLOOR_DUMP, str(project), full], check=True, env=ENV, cwd=project)
    (project / "floor_hook.py").write_text(FLOOR_HOOK, encoding="utf-8")
    return project


def scenario_floor(work: Path, sizes: list[int], runs: dict[int, int]) -> dict[str, object]:
    """Every build as a ratio to plain MkDocs on the same pages, alternating in one run."""
    out: dict[str, object] = {}
    mkdocs = str(BIN / "mkdocs")
    for size in sizes:
        project = floor_project(size, work)
        print(f"   {size} runbooks, {runs[size]} round(s) ...", flush=True)
        commands = {
            "floor": [mkdocs, "build", "-q", "-f", "mkdocs-floor.yml"],
            "lean": [mkdocs, "build", "-q", "-f", "mkdocs-lean.yml"],
            "default_first": [mkdocs, "build", "-q", "-f", "mkdocs-default.yml"],
            "default_second": [mkdocs, "build", "-q", "-f", "mkdocs-default.yml"],  # nothing changed since
        }
        samples = alternate_rounds(
            commands, runs[size], project, before={"default_first": [project / ".runbinder-cache"]}
        )
        medians = {name: statistics.median(values) for name, values in samples.items()}
        floor = medians["floor"]
        out[str(size)] = {
            "medians_s": medians,
            "samples_s": samples,
            "ratios": {name: medians[name] / floor for name in medians if name != "floor"},
        }
    return out


def scenario_check(work: Path, sizes: list[int], runs: int) -> dict[str, object]:
    """`runbinder check` of an unchanged project (second run, cache warm) and a cold one, against parsing."""
    out: dict[str, object] = {}
    for size in sizes:
        project = work / f"build-{size}"
        runbooks = generate(size, project)
        check = [str(BIN / "runbinder"), "check", "-q", "runbooks"]
        commands = {
            "libyaml parse-only": [sys.executable, "-c", PARSE_ONLY, str(runbooks)],
            "check_cold": check,
            "check_unchanged": check,  # right after the cold run: nothing changed
        }
        samples = alternate_rounds(
            commands,
            runs,
            project,
            before={"check_cold": [project / ".runbinder-cache"]},
            expect={"check_cold": (0, 1), "check_unchanged": (0, 1)},
        )
        medians = {name: statistics.median(values) for name, values in samples.items()}
        out[str(size)] = {
            "medians_s": medians,
            "samples_s": samples,
            "unchanged_minus_parsing_s": medians["check_unchanged"] - medians["libyaml parse-only"],
            "cold_minus_parsing_s": medians["check_cold"] - medians["libyaml parse-only"],
        }
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_latency(project: Path, source: Path, edits: int, dirty: bool) -> list[float]:
    """Seconds from saving ``source`` with a new title to `mkdocs serve` serving the page with it, per edit."""
    port = _free_port()
    command = [str(BIN / "mkdocs"), "serve", "-a", f"127.0.0.1:{port}", *(["--dirty"] if dirty else [])]
    server = subprocess.Popen(
        command,
        cwd=project,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    page_url = f"http://127.0.0.1:{port}/runbooks/{source.stem}.html"

    def wait_for(text: str, limit: float) -> float:
        start = time.perf_counter()
        while time.perf_counter() - start < limit:
            try:
                with urllib.request.urlopen(page_url, timeout=5) as response:  # loopback only
                    if text in response.read().decode("utf-8"):
                        return time.perf_counter() - start
            except OSError:
                pass
            time.sleep(0.05)
        raise SystemExit(f"serve: {text!r} did not appear within {limit} s")

    original = source.read_text(encoding="utf-8")
    latencies = []
    try:
        wait_for(source.stem, 900)
        for n in range(edits):
            marker = f"bench-edit-{n}-{'dirty' if dirty else 'full'}"
            # A new title, as someone fixing a runbook would save it (its page and every list naming it change).
            edited = re.sub(r"^title: .*$", f"title: {marker}", original, count=1, flags=re.MULTILINE)
            source.write_text(edited, encoding="utf-8")
            latencies.append(wait_for(marker, 900))
            time.sleep(1)  # let the reload settle before the next save
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        source.write_text(original, encoding="utf-8")
    return latencies


def scenario_serve(work: Path, edits: int, full: bool) -> dict[str, object]:
    project = work / "serve-1000"
    runbooks = generate(1000, project)
    # The plugin's defaults (offline checks on every rebuild), as a team previews its site.
    (project / "docs").mkdir(exist_ok=True)
    (project / "mkdocs.yml").write_text(MKDOCS_DEFAULT_YML, encoding="utf-8")
    source = runbook_files(runbooks)[0]
    dirty = serve_latency(project, source, edits, dirty=True)
    out: dict[str, object] = {
        "runbooks": 1000,
        "config": "plugin defaults",
        "dirty_save_to_served_s": statistics.median(dirty),
        "dirty_samples_s": dirty,
    }
    if full:
        out["full_save_to_served_s"] = statistics.median(serve_latency(project, source, 1, dirty=False))
    return out


def scenario_binder(work: Path) -> dict[str, object]:
    project = work / "binder-200"
    runbooks = generate(200, project)
    output = project / "binder.pdf"
    start = time.perf_counter()
    result = subprocess.run(
        [str(BIN / "runbinder"), "binder", str(runbooks), "-o", str(output)],
        capture_output=True,
        text=True,
        env=ENV,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        return {"skipped": result.stderr.strip()}
    pages = int(result.stdout.split("(")[1].split()[0])
    return {"runbooks": 200, "seconds": elapsed, "pages": pages}


def machine() -> dict[str, object]:
    meminfo = Path("/proc/meminfo")
    mem = meminfo.read_text().split("\n")[0].split()[1] if meminfo.exists() else "?"
    return {
        "cpus": os.cpu_count(),
        "memory_kib": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (one round at 1,000 runbooks)")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument(
        "--only",
        choices=("validate", "floor", "check", "serve", "binder", "scaling"),
        action="append",
        help="run just this scenario (repeatable); the others keep their results from --output",
    )
    parser.add_argument("--label", default="", help="a note stored with the results (which code was measured)")
    args = parser.parse_args()
    runs = 3 if args.quick else 5
    results: dict[str, object] = {}
    if args.only and args.output.exists():
        results = json.loads(args.output.read_text(encoding="utf-8"))
    results |= {"machine": machine(), "quick": args.quick, "label": args.label}
    wanted = set(args.only or ("validate", "floor", "check", "serve", "binder"))
    with tempfile.TemporaryDirectory(prefix="runbinder-bench-") as tmp:
        work = Path(tmp)
        if "validate" in wanted:
            print("1-2. validate ...", flush=True)
            results["validate"] = scenario_validate(work, runs)
        if "floor" in wanted:
            print("3. mkdocs build against the plain-MkDocs floor ...", flush=True)
            results["floor"] = scenario_floor(work, [300, 1000], {300: 3, 1000: 1 if args.quick else 3})
        if "check" in wanted:
            print("4. runbinder check ...", flush=True)
            results["check"] = scenario_check(work, [300, 1000], 3)
        if "serve" in wanted:
            print("5. mkdocs serve --dirty ...", flush=True)
            results["serve"] = scenario_serve(work, 3, full=not args.quick)
        if "binder" in wanted:
            print("6. binder ...", flush=True)
            results["binder"] = scenario_binder(work)
        if "scaling" in wanted:
            print("mkdocs build scaling ...", flush=True)
            results["build"] = scenario_build(work, [100, 1000] if args.quick else [100, 1000, 5000], 3)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print_table(results)
    return 0


def print_table(r: dict[str, object]) -> None:
    print(f"\nmachine: {r['machine']}  label: {r.get('label', '')}")
    print("| scenario | measured | target |\n|---|---|---|")
    v = r.get("validate")
    if isinstance(v, dict):
        m = v["medians_s"]
        print(f"| libyaml parse-only, {v['files']} files | {m['libyaml parse-only']:.2f} s | (floor) |")
        print(f"| runbinder validate | {m['runbinder validate']:.2f} s = {v['validate_over_floor']:.2f}x | <= 1.5x |")
        if "check-jsonschema" in m:
            ratio = v["check_jsonschema_over_validate"]
            print(f"| check-jsonschema | {m['check-jsonschema']:.1f} s = {ratio:.1f}x | |")
        print(f"| one-file validate | {v['one_file_s']:.3f} s | <= 0.3 s |")
    f = r.get("floor")
    if isinstance(f, dict):
        for size, row in f.items():
            m, q = row["medians_s"], row["ratios"]
            print(f"| plain MkDocs + Material, {size} runbooks (the floor) | {m['floor']:.1f} s | |")
            print(f"| plugin, checks, site check and print page off, {size} | {m['lean']:.1f} s = {q['lean']:.2f}x | |")
            first, second = m["default_first"], m["default_second"]
            print(f"| plugin defaults, {size}, cold cache | {first:.1f} s = {q['default_first']:.2f}x | <= 1.25x |")
            print(f"| plugin defaults, {size}, second build | {second:.1f} s = {q['default_second']:.2f}x | <= 1.1x |")
    c = r.get("check")
    if isinstance(c, dict):
        for size, row in c.items():
            m = row["medians_s"]
            print(
                f"| runbinder check, {size} runbooks, unchanged | {m['check_unchanged']:.2f} s = parsing "
                f"{m['libyaml parse-only']:.2f} s + {row['unchanged_minus_parsing_s']:.2f} s | parsing + 1 s |"
            )
            print(f"| runbinder check, {size} runbooks, cold | {m['check_cold']:.2f} s | |")
    s = r.get("serve")
    if isinstance(s, dict):
        print(f"| mkdocs serve --dirty, 1,000: save to served | {s['dirty_save_to_served_s']:.1f} s | <= 2 s |")
        if "full_save_to_served_s" in s:
            print(f"| mkdocs serve, 1,000 runbooks: save to served | {s['full_save_to_served_s']:.1f} s | |")
    d = r.get("binder")
    if isinstance(d, dict):
        if "seconds" in d:
            print(f"| binder, 200 runbooks | {d['seconds']:.0f} s, {d['pages']} pages | <= 90 s |")
        else:
            print(f"| binder, 200 runbooks | skipped: {d['skipped']} | |")
    b = r.get("build")
    if isinstance(b, dict):
        for size, row in b.items():
            if isinstance(row, dict) and "ms_per_runbook" in row:
                print(
                    f"| lean mkdocs build, {size} runbooks | {row['total_s']:.1f} s, plugin "
                    f"{100 * row['plugin_share']:.1f}% | plugin <= 10% |"
                )


if __name__ == "__main__":
    sys.exit(main())
