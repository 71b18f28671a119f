"""The printed binder, built from the bundled runbooks and read back with poppler (pdfinfo, pdftotext, pdftoppm).

Needs a Chromium and poppler-utils: locally these tests skip without them; under CI=true they must run.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from runbinder.binder import BinderError, BinderOptions, find_chromium, make_binder
from runbinder.cli import main
from runbinder.validate import load_project

from .conftest import CASES, ROOT, build_project


def _require_tools() -> None:
    missing = [tool for tool in ("pdfinfo", "pdftotext", "pdftoppm") if shutil.which(tool) is None]
    if find_chromium() is None:
        missing.append("chromium")
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {', '.join(missing)} missing: .ci/run must install chromium and poppler-utils")
        pytest.skip(f"needs {', '.join(missing)}")


def _text(pdf: Path, first: int | None = None, last: int | None = None) -> str:
    pages = ["-f", str(first), "-l", str(last or first)] if first else []
    return subprocess.run(
        ["pdftotext", "-layout", *pages, str(pdf), "-"], capture_output=True, text=True, check=True, timeout=120
    ).stdout


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True, timeout=60).stdout
    match = re.search(r"^Pages:\s+(\d+)", info, re.M)
    assert match
    return int(match.group(1))


def _runbooks() -> list[dict[str, object]]:
    out = []
    for path in sorted((ROOT / "runbooks").rglob("*.yaml")):
        if not (path.name == "catalog.yaml" or path.name.endswith(".catalog.yaml")):
            out.append(yaml.safe_load(path.read_text(encoding="utf-8")))
    return out


@pytest.fixture(scope="module")
def binder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _require_tools()
    output = tmp_path_factory.mktemp("binder") / "binder.pdf"
    project = load_project(ROOT / "runbooks", None, ROOT)
    make_binder(project.index, output, BinderOptions(site_url="https://runbooks.example.com"))
    return output


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_page_count_and_every_runbook_title(binder: Path) -> None:
    runbooks = _runbooks()
    pages = _pages(binder)
    assert len(runbooks) + 8 <= pages <= 12 * len(runbooks) + 60
    text = _squash(_text(binder))
    missing = [rb["title"] for rb in runbooks if _squash(str(rb["title"])) not in text]
    assert missing == []


def test_every_command_of_a_sample_runbook_is_printed(binder: Path) -> None:
    runbook = yaml.safe_load(
        (ROOT / "runbooks" / "authos-api" / "authos-api-database-connection-failures.yaml").read_text()
    )
    text = _squash(_text(binder))
    commands = [c["code"] for phase in runbook["phases"] for step in phase["steps"] for c in step.get("commands", [])]
    assert len(commands) >= 8
    # Wrapped lines and ligatures aside, every character of every command is on paper.
    missing = [code for code in commands if _squash(code).replace("fi", "ﬁ") not in text and _squash(code) not in text]
    assert missing == []


def test_toc_page_numbers_are_where_the_runbooks_start(binder: Path) -> None:
    toc = _text(binder, 2, 3)
    entries = re.findall(r"^\s*(\S.*?\S)\s{2,}(\d+)\s*$", toc, re.M)
    titles = {str(rb["title"]) for rb in _runbooks()}
    checked: set[str] = set()
    for title, number in entries:
        if title not in titles:
            continue
        page = _text(binder, int(number))
        header, _, body = page.partition("\n")
        assert title.replace("fi", "ﬁ") in header or title in header, (title, number, header)
        assert title in body.replace("ﬁ", "fi"), (title, number)
        previous = _text(binder, int(number) - 1).split("\n", 1)[0]
        assert title not in previous.replace("ﬁ", "fi") or previous.endswith(title) is False, (title, number)
        checked.add(title)
    assert checked == titles


def test_diagrams_are_drawn_not_printed_as_source(binder: Path) -> None:
    text = _text(binder)
    assert "Syntax error" not in text
    assert "flowchart TD" not in text
    assert "flowchart LR" not in text
    assert "#60;" not in text  # mermaid entity codes were decoded into the drawing
    assert "&#" not in text


def test_links_print_their_target_and_running_footer(binder: Path) -> None:
    text = _text(binder)
    assert "(p." in text  # internal references carry the page
    assert "https://runbooks.example.com/runbooks/" in _squash(text)  # QR caption of a runbook
    assert re.search(r"page \d+ of \d+", text)


def test_first_page_is_not_blank(binder: Path, tmp_path: Path) -> None:
    subprocess.run(
        ["pdftoppm", "-r", "20", "-f", "1", "-l", "1", "-gray", str(binder), str(tmp_path / "p")],
        check=True,
        timeout=60,
    )
    (image,) = tmp_path.glob("p*.pgm")
    data = image.read_bytes()
    header_end = data.index(b"255\n") + 4
    pixels = data[header_end:]
    assert sum(1 for value in pixels if value < 128) > 50


def test_letter_paper(tmp_path: Path) -> None:
    _require_tools()
    runbooks = build_project(CASES / "valid" / "full", tmp_path)
    output = tmp_path / "out" / "letter.pdf"
    make_binder(load_project(runbooks, None, tmp_path).index, output, BinderOptions(paper="letter"))
    info = subprocess.run(["pdfinfo", str(output)], capture_output=True, text=True, check=True).stdout
    assert "612 x 792 pts (letter)" in info
    assert "Payments latency" in _text(output)


def test_failed_run_keeps_the_previous_binder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _require_tools()
    runbooks = build_project(CASES / "valid" / "full", tmp_path)
    output = tmp_path / "binder.pdf"
    output.write_bytes(b"%PDF-previous")

    def broken(*args: object, **kwargs: object) -> bytes:
        raise BinderError("a diagram failed to render: simulated")

    monkeypatch.setattr("runbinder.binder._print", broken)
    with pytest.raises(BinderError):
        make_binder(load_project(runbooks, None, tmp_path).index, output, BinderOptions())
    assert output.read_bytes() == b"%PDF-previous"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".binder")] == []


def test_no_chromium_says_how_to_get_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    build_project(CASES / "valid" / "full", tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RUNBINDER_CHROMIUM", str(tmp_path / "no-such-chromium"))
    assert main(["binder", "-o", "b.pdf"]) == 1
    assert "apt-get install chromium" in capsys.readouterr().err
    assert main(["binder", "-o", "b.pdf", "--skip-without-chromium"]) == 0
    assert "skipped" in capsys.readouterr().err
    assert not (tmp_path / "b.pdf").exists()


def test_invalid_runbooks_make_no_binder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _require_tools()
    build_project(CASES / "invalid" / "xref-runbook", tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["binder", "-o", "b.pdf"]) == 1
    assert "runbooks/refs.yaml:4:10: error: service 'paymnets'" in capsys.readouterr().out
    assert not (tmp_path / "b.pdf").exists()


def test_mkdocs_plugin_prints_the_binder_with_the_site(tmp_path: Path) -> None:
    _require_tools()
    from .conftest import mkdocs_build

    build_project(CASES / "valid" / "full", tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: Binder test\nsite_url: https://runbooks.example.com/\nuse_directory_urls: false\n"
        "theme: {name: material, font: false}\nplugins:\n  - search\n  - runbinder:\n      binder_pdf: binder.pdf\n",
        encoding="utf-8",
    )
    result = mkdocs_build(tmp_path)
    assert result.returncode == 0, result.stderr
    pdf = tmp_path / "site" / "binder.pdf"
    assert _pages(pdf) >= 5
    assert "https://runbooks.example.com/runbooks/payments-latency.html" in _squash(_text(pdf))


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A TMPDIR short enough for Chromium's socket path, so the binder makes its workspace there."""
    temp = Path(tempfile.mkdtemp(prefix="rb", dir="/tmp"))
    yield temp
    shutil.rmtree(temp, ignore_errors=True)


def _start_binder(tmp_path: Path, temp: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """`runbinder binder` on the bundled runbooks with its own TMPDIR, once Chromium is up and printing."""
    process = subprocess.Popen(
        [sys.executable, "-m", "runbinder", "binder", str(ROOT / "runbooks"), "-o", str(tmp_path / "b.pdf")],
        env={**os.environ, "TMPDIR": str(temp)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # As from a terminal: a test run started as a background job would pass on an ignored SIGINT.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    # Playwright's driver makes Chromium's profile inside the binder's own folder (not in TMPDIR itself).
    while not list(temp.glob("runbinder-binder-*/playwright_chromiumdev_profile-*")):
        assert process.poll() is None, "the binder ended before Chromium started"
        assert time.monotonic() < deadline, "Chromium did not start within 60 s"
        time.sleep(0.1)
    return process, temp


def _processes_using(path: Path) -> list[str]:
    found = subprocess.run(["pgrep", "-fa", str(path)], capture_output=True, text=True, check=False).stdout
    return [line for line in found.splitlines() if "pgrep" not in line]


def _wait_for_no_processes(path: Path, seconds: float = 30) -> list[str]:
    deadline = time.monotonic() + seconds
    while (left := _processes_using(path)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stopped_binder_leaves_no_process_and_no_temporary_folder(
    tmp_path: Path, short_tmp: Path, sig: signal.Signals
) -> None:
    _require_tools()
    process, temp = _start_binder(tmp_path, short_tmp)
    process.send_signal(sig)
    assert process.wait(timeout=60) == 130  # "interrupted", after cleaning up
    assert _wait_for_no_processes(temp) == []
    assert sorted(p.name for p in temp.iterdir()) == []
    assert not (tmp_path / "b.pdf").exists()


def test_a_killed_binders_leftovers_are_removed_by_the_next_run(tmp_path: Path, short_tmp: Path) -> None:
    _require_tools()
    process, temp = _start_binder(tmp_path, short_tmp)
    process.kill()
    process.wait(timeout=60)
    # Playwright's driver notices its parent is gone and closes Chromium with its profile.
    assert _wait_for_no_processes(temp) == []
    left = sorted(p.name for p in temp.iterdir())
    assert [name for name in left if name.startswith(f"runbinder-binder-{process.pid}-")] == left != []
    from runbinder import binder

    original = tempfile.tempdir
    tempfile.tempdir = str(temp)
    try:
        with binder._workspace() as fresh:
            assert sorted(p.name for p in temp.iterdir()) == [fresh.name]
    finally:
        tempfile.tempdir = original
    assert sorted(p.name for p in temp.iterdir()) == []


def test_a_long_temporary_folder_does_not_stop_chromium(tmp_path: Path) -> None:
    """Chromium keeps a socket in its temporary folder and stopped at start-up ("Socket path too long") when TMPDIR
    was longer than about 19 characters, as macOS's is: the binder then failed with an internal error."""
    _require_tools()
    temp = tmp_path / ("long-temporary-folder-" * 3)
    temp.mkdir()
    assert len(str(temp)) > 80
    process = subprocess.Popen(
        [sys.executable, "-m", "runbinder", "binder", str(ROOT / "runbooks"), "-o", str(tmp_path / "b.pdf")],
        env={**os.environ, "TMPDIR": str(temp)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr[-2000:]
    assert _pages(tmp_path / "b.pdf") > 10
    assert list(temp.iterdir()) == []
    assert list(Path("/tmp").glob(f"runbinder-binder-{process.pid}-*")) == []  # its workspace, made in /tmp, is gone


def test_a_chromium_that_does_not_start_is_a_clear_message(tmp_path: Path) -> None:
    """Not "internal error ... This is a bug in runbinder" with Playwright's whole launch log."""
    _require_tools()
    fake = tmp_path / "chromium"
    fake.write_text(
        "#!/bin/sh\necho '[1:1:1130/000000.1:FATAL:process_singleton_posix.cc:315] Socket path too long: /x' >&2\n"
        "exit 1\n",
        encoding="utf-8",
    )
    fake.chmod(0o755)
    command = [sys.executable, "-m", "runbinder", "binder", str(ROOT / "runbooks"), "-o", str(tmp_path / "b.pdf")]
    result = subprocess.run(
        [*command, "--chromium", str(fake)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"runbinder binder: Chromium ({fake}) did not start: Socket path too long: /x"
    assert not (tmp_path / "b.pdf").exists()


def test_pypdf_warnings_about_chromiums_pdf_stay_out_of_the_output(caplog: pytest.LogCaptureFixture) -> None:
    """A 603-page binder of real runbooks printed "Object count 108318 exceeds defined trailer size 108315"."""
    import logging

    from runbinder.binder import _quiet_pypdf

    logger = logging.getLogger("pypdf")
    with caplog.at_level(logging.DEBUG), _quiet_pypdf():
        logger.warning("Object count 108318 exceeds defined trailer size 108315")
        logger.error("a real error still shows")
    assert [r.getMessage() for r in caplog.records] == ["a real error still shows"]
    caplog.clear()
    logger.warning("outside the binder")
    assert [r.getMessage() for r in caplog.records] == ["outside the binder"]


def test_an_interrupt_a_library_swallows_still_stops_the_binder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C raises KeyboardInterrupt wherever the run is; when that is inside a library that catches it and
    carries on (Playwright's event loop can), the binder still stops before it writes anything: exit 130, no PDF."""
    _require_tools()
    from runbinder import binder

    real_print = binder._print

    def swallowing(*args: Any) -> Any:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # the handler runs here and raises
        except KeyboardInterrupt:
            pass  # ... and the library swallows it
        return real_print(*args)

    monkeypatch.setattr(binder, "_print", swallowing)
    # As from a terminal (a test run started as a background job has SIGINT ignored, which the binder respects).
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code = main(["binder", str(ROOT / "runbooks"), "-o", str(tmp_path / "b.pdf"), "--no-cache"])
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the binder's handler is put back
    finally:
        signal.signal(signal.SIGINT, before)
    assert code == 130
    assert "interrupted" in capsys.readouterr().err
    assert not (tmp_path / "b.pdf").exists()
    assert not binder.STOPPED.is_set()  # the next binder this process makes is not stopped by this one's stop
