"""`mkdocs build` runs its checks and makes print.html in forked children (runbinder.sidework) while MkDocs renders.
The children are only a way of doing the same work sooner: the findings, the site and the exit status are those of
the build without them, and a child that fails or dies costs time, never a finding."""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from mkdocs.commands.build import build
from mkdocs.config import load_config

from runbinder import plugin, sidework
from runbinder.render import blocks as b
from tests.conftest import copy_site_project, mkdocs_build


def _echo(inbox: sidework.Inbox[Any]) -> list[Any]:
    got = []
    while (message := inbox.get()) is not None and message != "end":
        got.append(message)
    return got


def test_a_child_returns_what_its_work_returned_with_the_messages_in_order() -> None:
    child = sidework.Child(_echo, "echo")
    for n in range(500):
        child.send(("written", f"page-{n}.html"))
    child.send("end")
    assert child.result() == [("written", f"page-{n}.html") for n in range(500)]
    assert child.failure is None


def test_a_child_that_raises_or_dies_returns_none_and_says_why() -> None:
    def fails(inbox: sidework.Inbox[Any]) -> None:
        raise LookupError("no such page")

    child = sidework.Child(fails, "fails")
    assert child.result() is None
    assert "LookupError: no such page" in (child.failure or "")

    def dies(inbox: sidework.Inbox[Any]) -> None:
        os._exit(3)

    child = sidework.Child(dies, "dies")
    assert child.result() is None
    assert "exit code 3" in (child.failure or "")


def test_the_parent_never_waits_on_a_busy_child() -> None:
    """The child drains its pipe while its work is busy: the parent's messages (far more than a pipe holds) are
    all sent although the work reads none of them for a minute."""

    def busy(inbox: sidework.Inbox[Any]) -> None:
        time.sleep(60)

    child = sidework.Child(busy, "busy")
    page = "x" * 100_000

    def send_all() -> None:
        for _ in range(200):
            child.send(("page", page))

    sender = threading.Thread(target=send_all)
    started = time.monotonic()
    sender.start()
    sender.join(timeout=30)
    try:
        assert not sender.is_alive(), "the parent waited on a full pipe"
    finally:
        child.cancel()
    assert time.monotonic() - started < 30  # cancel killed the sleeping child at once


def test_a_child_posts_parts_in_order_before_its_result() -> None:
    def parts(inbox: sidework.Inbox[Any]) -> str:
        for n in range(300):
            sidework.post(("page", n))
        return "done"

    child = sidework.Child(parts, "parts")
    assert [child.receive() for _ in range(300)] == [("page", n) for n in range(300)]
    assert child.receive() is None
    assert child.receive() is None
    assert child.result() == "done"


def test_a_child_never_waits_on_a_parent_that_does_not_read_its_parts(tmp_path: Path) -> None:
    """Parts far larger than a pipe holds: the child posts them all and goes on although the parent reads none of
    them until the end (MkDocs reads the pages long after the child made them)."""
    done = tmp_path / "posted"

    def posts(inbox: sidework.Inbox[Any]) -> int:
        for n in range(200):
            sidework.post("x" * 100_000 + str(n))
        done.write_text("all posted")
        return 200

    child = sidework.Child(posts, "posts")
    deadline = time.monotonic() + 30
    while not done.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert done.exists(), "the child waited for the parent to read its parts"
        assert child.receive() == "x" * 100_000 + "0"
    finally:
        assert child.result() == 200  # the parts nobody asked for are dropped


def test_a_child_that_dies_while_posting_ends_its_parts_and_says_why() -> None:
    def dies(inbox: sidework.Inbox[Any]) -> None:
        sidework.post(1)
        sidework.post(2)
        os._exit(3)

    child = sidework.Child(dies, "dies")
    assert [child.receive(), child.receive(), child.receive()] == [1, 2, None]
    assert child.result() is None
    assert "exit code 3" in (child.failure or "")


class _Unreadable(Exception):
    def __init__(self, a: str, b: str) -> None:  # pickled with one argument: unpickling it raises TypeError
        super().__init__(a)


def test_a_message_that_cannot_be_read_ends_the_parts_and_the_child() -> None:
    """The reader never dies silently: receive() does not wait for ever, result() says why, and the child, whose
    work can no longer reach the parent, is stopped."""

    def sends_unreadable(inbox: sidework.Inbox[Any]) -> None:
        sidework.post(1)
        sidework.post(_Unreadable("a", "b"))
        time.sleep(60)

    child = sidework.Child(sends_unreadable, "unreadable")
    assert child.receive() == 1
    assert child.receive() is None
    started = time.monotonic()
    assert child.result() is None
    assert time.monotonic() - started < 30
    assert "could not be read" in (child.failure or "")
    assert child._process.exitcode is not None


def test_no_child_is_left_when_its_reader_thread_cannot_start(monkeypatch: pytest.MonkeyPatch) -> None:
    real_start = threading.Thread.start

    def start(self: threading.Thread) -> None:
        if self.name == sidework.READER_THREAD:
            raise RuntimeError("can't start new thread")
        real_start(self)

    monkeypatch.setattr(threading.Thread, "start", start)
    before = {p.pid for p in multiprocessing.active_children()}
    with pytest.raises(OSError, match="no thread"):
        sidework.Child(_echo, "echo")
    assert {p.pid for p in multiprocessing.active_children()} == before


def test_post_is_only_for_a_child() -> None:
    with pytest.raises(RuntimeError):
        sidework.post("from the parent")


def test_no_child_is_forked_while_another_thread_runs() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not sidework.can_fork()
    finally:
        stop.set()
        other.join()


# -- the plugin: the same build with and without children


@pytest.fixture(scope="module")
def broken_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled site with a finding of each kind: a command check's and the site link check's."""
    project = copy_site_project(tmp_path_factory.mktemp("sidework"))
    runbook = project / "runbooks" / "authos-api" / "authos-api-disk-space-critical.yaml"
    text = runbook.read_text(encoding="utf-8")
    runbook.write_text(text.replace("destructive: true", "destructive: false", 1), encoding="utf-8")
    (project / "docs" / "links.md").write_text(
        '# Links\n\n<a href="gone.html">gone</a> and <a href="about.html#no-such-part">a part</a>\n', encoding="utf-8"
    )
    return project


def _build(project: Path, site: Path, caplog: pytest.LogCaptureFixture) -> tuple[list[str], list[str]]:
    """An in-process `mkdocs build` (no cache, so each build checks everything): its warnings and its debug
    messages, in order."""
    caplog.clear()
    config = load_config(str(project / "mkdocs.yml"), site_dir=str(site))
    config.plugins.on_startup(command="build", dirty=False)
    with caplog.at_level(logging.DEBUG, logger="mkdocs"):
        build(config)
    records = [r for r in caplog.records if r.name.startswith("mkdocs")]
    return (
        [r.getMessage() for r in records if r.levelno >= logging.WARNING],
        [r.getMessage() for r in records if r.levelno == logging.DEBUG],
    )


@pytest.fixture
def forked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the children started, in order. Children may start although earlier tests left threads in
    this process (idle servers and pools): a fresh `mkdocs build` has none, and test_mkdocs_build_checks_beside_itself
    holds the real rule to that; tests that want a build without children say so."""
    monkeypatch.setattr(sidework, "can_fork", lambda: True)
    names: list[str] = []
    real_child = sidework.Child

    def counted(work: Any, name: str) -> sidework.Child[Any]:
        names.append(name)
        return real_child(work, name)

    monkeypatch.setattr(sidework, "Child", counted)
    return names


@pytest.fixture
def no_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    counter = iter(range(1000))
    monkeypatch.setattr(plugin, "_cache_dir", lambda config: tmp_path / f"cache-{next(counter)}")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795305600")


def _site(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}


@pytest.mark.usefixtures("no_cache")
def test_children_find_what_the_build_finds_in_process(
    broken_project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    forked: list[str],
) -> None:
    monkeypatch.setattr(plugin, "_STREAM_FROM", 1)  # the bundled site is small: its pages are made beside too
    monkeypatch.setattr(sidework, "can_fork", lambda: False)
    alone, _ = _build(broken_project, tmp_path / "alone", caplog)
    assert forked == []
    monkeypatch.setattr(sidework, "can_fork", lambda: True)
    beside, _ = _build(broken_project, tmp_path / "beside", caplog)
    assert forked == ["checks"]

    assert any("(command.destructive)" in m for m in alone)
    assert any("links.html" in m and "(site.link)" in m for m in alone)
    assert any("no element with id 'no-such-part'" in m for m in alone)
    assert sorted(beside) == sorted(alone)
    assert _site(tmp_path / "beside") == _site(tmp_path / "alone")


@pytest.mark.usefixtures("no_cache")
def test_parallel_false_keeps_the_build_in_one_process(
    broken_project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    forked: list[str],
) -> None:
    project = tmp_path / "project"
    import shutil

    shutil.copytree(broken_project, project)
    config = project / "mkdocs.yml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("runbooks_dir: runbooks", "runbooks_dir: runbooks\n      parallel: false"))
    monkeypatch.setattr(sidework, "can_fork", lambda: True)
    monkeypatch.setattr(plugin, "_STREAM_FROM", 1)
    found, _ = _build(project, tmp_path / "site", caplog)
    assert forked == []
    assert any("(command.destructive)" in m for m in found)


@pytest.mark.usefixtures("no_cache")
@pytest.mark.parametrize("how", ["raises", "dies", "dies after sending three pages"])
def test_a_failed_child_costs_time_not_findings(
    how: str, broken_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The child makes the pages, then checks: whenever it fails, the pages it did not send are made here (the
    first ones MkDocs reads were sent), and the checks and print.html too."""
    monkeypatch.setattr(sidework, "can_fork", lambda: False)
    alone, _ = _build(broken_project, tmp_path / "alone", caplog)

    def broken(*args: Any) -> Any:
        if how == "dies":
            os._exit(1)
        raise RuntimeError("a bug in the child")

    monkeypatch.setattr(sidework, "can_fork", lambda: True)
    monkeypatch.setattr(plugin, "_STREAM_FROM", 1)
    if how.startswith("dies after"):
        real_post, posted = sidework.post, []

        def post(message: Any) -> None:
            posted.append(message)
            if len(posted) > 3:
                os._exit(1)
            real_post(message)

        monkeypatch.setattr(sidework, "post", post)
    else:
        monkeypatch.setattr(plugin, "_side_work", broken)
    beside, debug = _build(broken_project, tmp_path / "beside", caplog)
    assert sorted(beside) == sorted(alone)
    assert _site(tmp_path / "beside") == _site(tmp_path / "alone")
    assert any("their child failed" in m for m in debug)


def _failing_in_child(real: Any) -> Any:
    """The function, failing when it runs in a child (and working in the parent)."""
    parent = os.getpid()

    def patched(*args: Any) -> Any:
        if os.getpid() != parent:
            raise RuntimeError("a bug in the child")
        return real(*args)

    return patched


def test_mkdocs_build_checks_beside_itself(broken_project: Path, tmp_path: Path) -> None:
    """The real `mkdocs build` forks its child (a fresh process has no other thread), and fails --strict on what
    it found, keeping the last good site."""
    result = mkdocs_build(broken_project, "--strict", "--verbose", "--site-dir", str(tmp_path / "site"))
    assert result.returncode != 0
    assert "checks and print.html are made beside the build, in process" in result.stderr
    assert "(command.destructive)" in result.stderr
    assert "(site.link)" in result.stderr
    assert "child failed" not in result.stderr
    assert not (tmp_path / "site").exists()


def test_pages_a_child_streams_are_the_pages_made_in_process(tmp_path: Path, forked: list[str]) -> None:
    """A child makes every generated page and sends each as it is made, with the fragments it carries: the pages
    read here, in MkDocs' order, are those made in one process. The child keeps them, and the commands it
    highlighted, for the next build; a page shown instead of the kept one (the alerts index with its rules) is
    sent, and the plain one kept."""
    from datetime import date

    from runbinder import safe
    from runbinder.bench.generate import generate
    from runbinder.render import kept
    from runbinder.render.site import SiteRenderer
    from runbinder.sitemap import PAGES
    from runbinder.validate import load_project

    generate(60, tmp_path / "runbooks")
    project = load_project(tmp_path / "runbooks", None, tmp_path)
    renderer = SiteRenderer(project.index, today=date(2026, 11, 30))

    def fresh(name: str) -> safe.HighlightStore:
        safe.FRAGMENTS.store.clear()
        safe.code_html.cache_clear()  # each run highlights (and keeps) every command itself
        safe.HIGHLIGHTS = safe.HighlightStore(tmp_path / name)
        return safe.HIGHLIGHTS

    try:
        fresh("alone")
        alone = {path: safe.FRAGMENTS.inline(make().document()) for path, make in renderer.makers().items()}
        highlighted = len(safe.HIGHLIGHTS.cache.entries) if safe.HIGHLIGHTS is not None else 0
        fresh("beside")
        stream = plugin._PageStream(renderer.makers(), tmp_path / "kept", kept.site_key(renderer))
        stream.shown[PAGES["alerts"]] = lambda: b.Page(PAGES["alerts"], "Alerts", "shown instead")
        stream.unread.add(PAGES["home"])  # as when docs/index.md is the site's own: made for keeping, not sent
        stream.child = sidework.Child(lambda inbox: stream.make_and_post(), "pages")
        safe.HIGHLIGHTS = None
        safe.FRAGMENTS.store.clear()  # every fragment the pages carry comes with them
        beside = {path: safe.FRAGMENTS.inline(stream.document(path)) for path in alone if path != PAGES["home"]}
        first = next(iter(beside))
        assert stream.document(first) is stream.document(first)  # asked again: the same, not waited for or remade
        for never_sent in ("no/such/page.md", PAGES["home"]):
            with pytest.raises(KeyError):
                stream.document(never_sent)  # refused at once, never waited for
        stream.child.result()
    finally:
        safe.HIGHLIGHTS = None
    assert stream.child.failure is None
    assert forked == ["pages"]
    assert beside[PAGES["alerts"]] == b.Page(PAGES["alerts"], "Alerts", "shown instead").document()
    assert beside == {path: page for path, page in alone.items() if path != PAGES["home"]} | {
        PAGES["alerts"]: beside[PAGES["alerts"]]
    }
    assert len(alone) == 13 + 60 + len(renderer.table("services"))
    kept_pages = kept.load(tmp_path / "kept", kept.site_key(renderer))
    assert kept_pages is not None
    assert {path: safe.FRAGMENTS.inline(page.document()) for path, page in kept_pages.items()} == alone
    assert highlighted > 0
    assert len(safe.HighlightStore(tmp_path / "beside").cache.entries) == highlighted


@pytest.fixture(scope="module")
def large_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 generated runbooks, a few of them broken in the half a child loads."""
    from runbinder.bench.generate import generate

    root = tmp_path_factory.mktemp("large") / "runbooks"
    paths = generate(120, root)
    for path in paths[-30::7]:
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("title:", "titel:", 1) + "\nsummary: [unclosed\n", encoding="utf-8")
    return root


def _loaded(root: Path, beside: bool) -> tuple[list[Any], list[Any]]:
    from runbinder.validate import load_project

    project = load_project(root, None, root.parent, beside=beside)
    documents = [(d.display, d.digest, d.data, d.diagnostics, d.schema_diagnostics) for d in project.documents]
    return documents, project.diagnostics


def test_files_loaded_beside_are_the_files_loaded_in_process(large_project: Path, forked: list[str]) -> None:
    """A child loads and schema-checks half of the files: the documents, their problems and the project's
    diagnostics are those of loading them all in one process, in the same order."""
    beside = _loaded(large_project, beside=True)
    assert forked == ["load"]
    alone = _loaded(large_project, beside=False)
    assert beside == alone
    assert any(d.level == "error" for d in alone[1])


def test_files_a_failed_child_did_not_load_are_loaded_here(
    large_project: Path, monkeypatch: pytest.MonkeyPatch, forked: list[str]
) -> None:
    from runbinder import validate

    alone = _loaded(large_project, beside=False)
    monkeypatch.setattr(validate, "_judged", _failing_in_child(validate._judged))
    assert _loaded(large_project, beside=True) == alone
    assert forked == ["load"]


@pytest.mark.usefixtures("no_cache")
@pytest.mark.parametrize("command", [None, "build", "gh-deploy"])
@pytest.mark.parametrize("fails", [False, True])
def test_a_build_hands_back_the_objects_it_kept_from_the_cycle_collector(
    fails: bool, command: str | None, broken_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loaded project is kept out of the cycle collector's way while MkDocs renders (gc.freeze), and handed back
    when the build ends, also when it fails: an in-process caller is left as it was. Only `mkdocs build`, which
    exits right after the build, leaves them there for the interpreter's last collection to skip."""
    import gc

    gc.unfreeze()
    during: list[int] = []

    def spy(self: Any, markdown: str, /, **kwargs: Any) -> str:
        during.append(gc.get_freeze_count())
        if fails:
            raise RuntimeError("a page that cannot be made")
        return markdown

    assert not hasattr(plugin.RunbinderPlugin, "on_page_markdown")  # the spy is the only page_markdown handler
    monkeypatch.setattr(plugin.RunbinderPlugin, "on_page_markdown", spy, raising=False)
    config = load_config(str(broken_project / "mkdocs.yml"), site_dir=str(tmp_path / "site"))
    if command is not None:
        config.plugins.on_startup(command=command, dirty=False)
    try:
        if fails:
            with pytest.raises(Exception, match="a page that cannot be made"):
                build(config)
        else:
            build(config)
        assert during
        assert min(during) > 0
        assert (gc.get_freeze_count() > 0) == (command == "build")
    finally:
        gc.unfreeze()


HOOKS = """
import copy
from pathlib import Path

def on_files(files, config):
    done = []
    for f in list(files):
        if f.src_uri == "runbooks/authos-api-brute-force-attack.md":  # moved before MkDocs reads it
            files.remove(f)
            f.src_uri = "moved/brute-force.md"
            files.append(f)
            done.append("moved " + type(f).__name__)
        if f.src_uri == "runbooks/authos-api-disk-space-critical.md":  # copied before MkDocs reads it
            copy.deepcopy(f)
            done.append("copied " + type(f).__name__)
    Path(config.config_file_path).with_name("hooks-ran.txt").write_text(" ".join(sorted(done)))
    return files
"""


@pytest.mark.usefixtures("no_cache")
def test_pages_a_plugin_moves_or_copies_before_mkdocs_reads_them_are_built_as_without_a_child(
    broken_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A plugin after runbinder may rename a generated file (MkDocs allows it) or copy it: the child's pages still
    reach MkDocs by the path they were made for, and a copy holds the Markdown, not the child's pipes."""
    import shutil

    project = tmp_path / "project"
    shutil.copytree(broken_project, project)
    (project / "hooks.py").write_text(HOOKS, encoding="utf-8")
    config = project / "mkdocs.yml"
    config.write_text(config.read_text(encoding="utf-8") + "\nhooks:\n  - hooks.py\n", encoding="utf-8")
    monkeypatch.setattr(sidework, "can_fork", lambda: False)
    alone, _ = _build(project, tmp_path / "alone", caplog)
    monkeypatch.setattr(sidework, "can_fork", lambda: True)
    monkeypatch.setattr(plugin, "_STREAM_FROM", 1)
    beside, debug = _build(project, tmp_path / "beside", caplog)
    assert any("made beside the build" in m for m in debug)
    assert sorted(beside) == sorted(alone)
    assert (project / "hooks-ran.txt").read_text() == "copied StreamedPage moved StreamedPage"
    assert _site(tmp_path / "beside") == _site(tmp_path / "alone")


def test_objects_a_build_left_frozen_for_an_exit_that_did_not_come_are_handed_back(
    broken_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two `mkdocs build` runs in one process (a host driving the command, a test run): what the first left frozen
    for the exit is handed back by the second, garbage included; and objects a host froze itself are never handed
    back by a build (Python has one frozen generation for the whole process)."""
    import gc
    import weakref

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795305600")

    class Node:
        other: Any = None

    def cli_build(site: str) -> None:
        config = load_config(str(broken_project / "mkdocs.yml"), site_dir=str(tmp_path / site))
        config.plugins.on_startup(command="build", dirty=False)
        build(config)
        config.plugins.on_shutdown()

    gc.unfreeze()
    try:
        cycle = Node()
        cycle.other = Node()
        cycle.other.other = cycle
        gone = weakref.ref(cycle)
        cli_build("first")  # freezes everything alive, the cycle too, and leaves it so for the exit
        assert gc.get_freeze_count() > 0
        del cycle
        gc.collect()
        assert gone() is not None  # frozen garbage: never collected
        cli_build("second")
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()

    host = Node()
    gc.freeze()  # the host's own
    try:
        config = load_config(str(broken_project / "mkdocs.yml"), site_dir=str(tmp_path / "hosted"))
        build(config)
        assert all(o is not host for o in gc.get_objects())  # still frozen: in no generation the collector walks
    finally:
        gc.unfreeze()
    assert any(o is host for o in gc.get_objects())
