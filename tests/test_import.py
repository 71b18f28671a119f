"""`runbinder import`: Markdown runbooks (fixtures in tests/imports covering each shape real collections use)
become a project that validates, keeps every item of the source, and builds."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from runbinder import safe
from runbinder.cli import main
from runbinder.importer import ImportOptions, collect, import_paths
from runbinder.importer.fidelity import check
from runbinder.validate import validate_paths

from .conftest import ROOT, mkdocs_build

IMPORTS = Path(__file__).parent / "imports"
INPUTS = [IMPORTS / "hugo", IMPORTS / "alerts", IMPORTS / "general"]


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture
def imported(tmp_path: Path) -> tuple[Path, Any]:
    project = tmp_path / "project"
    report = import_paths(INPUTS, project, ImportOptions())
    return project, report


def test_every_imported_file_validates(imported: tuple[Path, Any]) -> None:
    project, report = imported
    diagnostics, files = validate_paths([project], project)
    assert [d.text() for d in diagnostics if d.level == "error"] == []
    assert files == 6  # five runbooks and the catalog
    assert report.runbooks == 5
    assert report.pages == 2
    assert report.images == 1


def test_nothing_of_the_sources_is_lost(imported: tuple[Path, Any]) -> None:
    project, report = imported
    files, _ = collect(INPUTS)
    result = check(files, project, report.rewrites)
    assert result.missing == []
    for kind in ("paragraph", "list item", "code line", "table cell", "link target", "image", "heading"):
        assert result.counted[kind] > 0, kind  # the fixtures hold every kind of item


def test_alert_runbook_mapping(imported: tuple[Path, Any]) -> None:
    project, _ = imported
    data = _load(project / "node" / "node-disk-filling.yaml")
    assert data["title"] == "Node Disk Filling"  # the front matter's title; the alert keeps the file's name
    assert data["alerts"] == [{"name": "NodeDiskFilling"}]
    assert data["summary"].startswith("A filesystem on a node is predicted")
    assert data["order"] == 20  # the front matter's weight
    # <details> became a folded section; the nested two-space list keeps its nesting (four spaces for Markdown)
    assert data["sections"][0] == {
        "title": "Full context",
        "text": data["sections"][0]["text"],
        "placement": "before-phases",
        "collapsed": True,
    }
    nested = "Writes fail:\n\n- the container runtime cannot pull images,\n- the kubelet cannot write logs."
    assert data["impact"][1] == nested
    diagnosis, mitigation = data["phases"]
    assert [p["title"] for p in data["phases"]] == ["Diagnosis", "Mitigation"]
    query = diagnosis["steps"][0]["commands"][0]
    assert query["language"] == "promql"  # fenced as shell, read as PromQL
    transcript = diagnosis["steps"][1]["commands"]
    assert [c["code"] for c in transcript] == [
        "kubectl -n $NAMESPACE top pods --sort-by=memory",
        "kubectl get node <node name> -o wide",
    ]
    assert transcript[0]["sample_output"].startswith("NAME")
    # the reference-style link is carried inline, the Hugo ref points at the other imported runbook
    assert "(https://kubernetes.io/docs/reference/kubectl/)" in diagnosis["steps"][1]["text"]
    assert "(runbooks/node-disk-full.md)" in mitigation["steps"][1]["text"]
    # a remote image would make readers' browsers call out: it is a link to the image now
    assert "[Image: disk graph](https://dashboards.invalid/disk.png)" in mitigation["steps"][2]["text"]
    names = [v["name"] for v in data["variables"]]
    assert names == ["instance label from alert", "NAMESPACE", "node name"]
    assert all(v["description"].startswith("TODO") for v in data["variables"])
    provenance = data["provenance"]
    assert provenance["format"] == "prometheus-operator"
    assert provenance["digest"].startswith("sha256:")
    assert any("Hugo ref" in line for line in provenance["review"])


def test_structure_alternatives_and_sessions(imported: tuple[Path, Any]) -> None:
    project, _ = imported
    data = _load(project / "storage" / "ceph-volume-stuck.yaml")
    assert data["provenance"]["format"] == "openshift"
    claim, health = data["phases"][0]["steps"]
    assert [s["title"] for s in claim["steps"]] == [
        "Look at the claim's events",
        "Look at the provisioner's logs, see gathering logs",
    ]
    assert claim["steps"][1]["steps"][0]["commands"][0]["code"].startswith("oc -n openshift-storage logs")
    assert [a["title"] for a in health["alternatives"]] == ["With the CLI", "In the web console"]
    cli = health["alternatives"][0]["commands"]
    assert [c["code"] for c in cli] == ["oc debug node/<node name>", "chroot /host", "ceph status"]
    assert cli[2]["runs_in"] == "a session with the prompt sh-4.4#"
    assert "HEALTH_WARN" in cli[2]["sample_output"]
    # links to a helper page and an image resolve to the project's shared page and image
    assert "(pages/alerts/storage/helpers/gatherLogs.md)" in claim["steps"][1]["text"]
    assert "images/alerts/storage/images/topology.png" in data["sections"][0]["text"]


def test_shared_pages_images_and_catalog(imported: tuple[Path, Any]) -> None:
    project, _ = imported
    page = (project / "pages" / "alerts" / "storage" / "helpers" / "gatherLogs.md").read_text(encoding="utf-8")
    assert page.startswith("---\ntitle: Gathering logs\n")
    assert "(images/alerts/storage/images/topology.png)" in page  # its own links rewritten too
    image = project / "images" / "alerts" / "storage" / "images" / "topology.png"
    assert image.read_bytes() == (IMPORTS / "alerts" / "storage" / "images" / "topology.png").read_bytes()
    catalog = _load(project / "catalog.yaml")
    assert [s["id"] for s in catalog["services"]] == ["general", "node", "storage"]
    assert catalog["contacts"][0]["id"] == "todo-owner"


def test_general_markdown_becomes_one_runbook_per_section(imported: tuple[Path, Any]) -> None:
    project, _ = imported
    first = _load(project / "general" / "checkout-errors.yaml")
    second = _load(project / "general" / "slow-payments.yaml")
    assert [p["title"] for p in first["phases"]] == ["Triage", "Recovery"]
    assert first["sections"][0]["title"] == "Payments playbook"  # the document's introduction opens the first
    assert second["summary"] == "When p95 latency is above 2 seconds."
    # A list nested by two spaces (GitHub's way) is written with four, so Python-Markdown keeps it nested.
    triage = second["phases"][0]["steps"][0]["text"]
    assert triage == (
        "- Check the database connections:\n    - the primary,\n    - the replicas.\n- Check the queue depth."
    )
    rendered = safe.markdown_html(triage)
    assert "<li>Check the database connections:<ul>\n<li>the primary,</li>" in rendered


def test_import_never_overwrites_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], imported: tuple[Path, Any]
) -> None:
    project, _ = imported
    runbook = project / "node" / "node-disk-full.yaml"
    runbook.write_text("# my edits\n", encoding="utf-8")
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    assert main(["import", *map(str, INPUTS), "-o", str(project)]) == 2
    assert "nothing written" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in project.rglob("*") if p.is_file()} == before
    assert main(["import", *map(str, INPUTS), "-o", str(project), "--force"]) == 0
    assert runbook.read_text(encoding="utf-8") != "# my edits\n"
    assert (project / "imported.catalog.yaml").is_file()  # the existing catalog is left alone


def test_cli_reports_what_it_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(IMPORTS / "hugo"), "-o", str(tmp_path / "p"), "--service", "nodes"]) == 0
    out, err = capsys.readouterr()
    assert f"wrote {tmp_path / 'p' / 'nodes' / 'node-disk-filling.yaml'}" in out
    assert "2 runbooks (2 prometheus-operator), 1 shared pages, 0 images" in err
    assert main(["import", str(tmp_path / "missing"), "-o", str(tmp_path / "q")]) == 2
    assert main(["import", str(IMPORTS / "hugo"), "-o", str(tmp_path / "r"), "--service", "Not An Id"]) == 2


def test_imported_project_builds_a_site_with_its_pages_and_images(imported: tuple[Path, Any], tmp_path: Path) -> None:
    project, _ = imported
    site = tmp_path / "site-project"
    site.mkdir()
    shutil.copytree(project, site / "runbooks")
    (site / "docs").mkdir()
    config = (
        (ROOT / "mkdocs.yml")
        .read_text(encoding="utf-8")
        .replace("runbooks_dir: runbooks", 'runbooks_dir: runbooks\n      checks: "off"')
    )
    (site / "mkdocs.yml").write_text(config, encoding="utf-8")
    result = mkdocs_build(site, "--strict")
    assert result.returncode == 0, result.stderr[-3000:]
    built = site / "site"
    assert (built / "pages" / "alerts" / "storage" / "helpers" / "gatherLogs.html").is_file()
    assert (built / "images" / "alerts" / "storage" / "images" / "topology.png").is_file()
    page = (built / "runbooks" / "ceph-volume-stuck.html").read_text(encoding="utf-8")
    assert 'src="../images/alerts/storage/images/topology.png"' in page
    assert 'href="../pages/alerts/storage/helpers/gatherLogs.html"' in page


CORPORA = os.environ.get("RUNBINDER_IMPORT_CORPORA", "")


@pytest.mark.skipif(not CORPORA, reason="set RUNBINDER_IMPORT_CORPORA=path[:path] to import whole collections")
def test_whole_collections(tmp_path: Path) -> None:
    # Opt-in: the openshift/runbooks alerts/ and prometheus-operator/runbooks content/runbooks/ folders, fetched
    # by whoever runs it (bench/import.py reports the same figures).
    sources = [Path(p) for p in CORPORA.split(":")]
    started = time.monotonic()
    report = import_paths(sources, tmp_path / "project", ImportOptions())
    elapsed = time.monotonic() - started
    diagnostics, _ = validate_paths([tmp_path / "project"], tmp_path)
    files, _ = collect(sources)
    fidelity = check(files, tmp_path / "project", report.rewrites)
    assert fidelity.missing == []
    assert [d.text() for d in diagnostics if d.level == "error"] == []
    assert elapsed < 60


def test_an_imported_image_prints_in_the_binder(imported: tuple[Path, Any], tmp_path: Path) -> None:
    # One path (images/...) for the page and the binder: the binder copies the project's images beside its page.
    import subprocess

    from runbinder.binder import BinderOptions, find_chromium, make_binder
    from runbinder.validate import load_project

    if find_chromium() is None or shutil.which("pdfimages") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but chromium or poppler-utils is missing")
        pytest.skip("needs chromium and poppler-utils")
    project, _ = imported
    loaded = load_project(project, None, tmp_path)
    output = tmp_path / "binder.pdf"
    make_binder(loaded.index, output, BinderOptions())
    listing = subprocess.run(["pdfimages", "-list", str(output)], capture_output=True, text=True, check=True).stdout
    images = [line for line in listing.splitlines()[2:] if line.strip()]
    assert any(line.split()[2:5] == ["image", "1", "1"] for line in images), listing  # the 1x1 topology.png
    text = subprocess.run(["pdftotext", str(output), "-"], capture_output=True, text=True, check=True).stdout
    assert "Gathering logs" in text  # the shared page is printed too


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("**Payments incident update**\n\n**Severity:** SEV2\n**Status:** Investigating\n", "text"),
        ("We are investigating.\n\n- Logins may fail\n- Tokens may be slow\n", "text"),
        ("🚨 INCIDENT - P{SEVERITY}\nTitle: {what}\nDetected: {when}\nOwner: @{who}\n", "text"),
        ("kubectl get pods -n web\n", "bash"),
        ('for p in $(kubectl get pods -o name); do kubectl logs "$p"; done\n', "bash"),
    ],
)
def test_messages_fenced_as_code_are_text_not_commands(code: str, language: str) -> None:
    from runbinder.importer.commands import convert

    converted = convert(code, "")
    assert [c["language"] for c in converted.commands] == [language]


def test_imported_files_are_readable_like_any_other_project_file(imported: tuple[Path, Any]) -> None:
    # They were written through mkstemp, which makes files only their owner can read (0600).
    project, _ = imported
    modes = {oct(p.stat().st_mode & 0o777) for p in project.rglob("*") if p.is_file()}
    assert modes == {"0o644"}
