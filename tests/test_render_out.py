"""`runbinder render -o DIR`: the rendered folder, its inert HTML, and what re-running it does to the folder."""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
from pathlib import Path

import jinja2
import markdown as python_markdown
import pytest

from runbinder import export, plugin, safe
from runbinder.cli import main

from .conftest import ROOT
from .fuzz import live_markup
from .hostile import MARKDOWN_PAYLOADS, SENTINEL

FILE_SENTINEL = f"{SENTINEL}-secret-file-content"

EVERYTHING = [
    "admonition", "attr_list", "md_in_html", "tables", "toc", "abbr", "def_list", "footnotes", "smarty",
    "pymdownx.details", "pymdownx.superfences", "pymdownx.tasklist", "pymdownx.highlight", "pymdownx.inlinehilite",
    "pymdownx.magiclink", "pymdownx.mark", "pymdownx.tilde", "pymdownx.caret", "pymdownx.emoji", "pymdownx.critic",
    "pymdownx.snippets", "pymdownx.keys", "pymdownx.smartsymbols", "pymdownx.betterem", "pymdownx.arithmatex",
]  # fmt: skip
"""A site that enables every extension of Zensical's defaults and TechDocs' set, and more: what a generator building
rendered pages may run. The snippets extension may read any file."""


def _site(base: Path) -> python_markdown.Markdown:
    return python_markdown.Markdown(
        extensions=EVERYTHING,
        extension_configs={
            "pymdownx.snippets": {"base_path": [str(base)], "check_paths": False},
            "pymdownx.superfences": {
                "custom_fences": [{"name": "mermaid", "class": "mermaid", "format": _unescaped_fence}]
            },
        },
    )


def _unescaped_fence(source: str, language: str, css_class: str, options: object, md: object, **_: object) -> str:
    return f'<div class="mermaid">{source}</div>'  # like mermaid2's fence: no escaping at all


def _page(text: str) -> str:
    """A page holding ``text`` everywhere runbook text goes: a field, a list, code at the margin and in admonitions
    (nested and folded), as the runbook page lays them out."""
    context = safe.LinkContext("runbooks/x.md", False)
    return "\n\n".join(
        [
            safe.page_front_matter(text) + "# " + safe.md_text(text),
            safe.block(text, context),
            safe.bullet_list([text, text], context, tasks=True),
            safe.code_block(text, "bash"),
            '!!! warning rb-destructive "' + safe.md_text("Changes state: " + text) + '"',
            "    " + safe.code_block(text, "bash"),
            '    !!! abstract "' + safe.md_text(text) + '"',
            "        " + safe.block(text, context),
            '??? note "' + safe.md_text(text) + '"',
            "    " + safe.block(text, context),
        ]
    )


_SMARTY = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "--", "\u2014": "---", "\u2026": "..."}
)


def _text(converted: str) -> str:
    """The text a reader sees. Typography aside: admonition titles go through the site's Markdown in the plugin's
    pages (smarty curls their quotes) and are HTML text, shown exactly as written, in rendered ones."""
    return "".join(html.unescape(re.sub(r"<[^>]+>", "", converted)).translate(_SMARTY).split())


@pytest.mark.parametrize(("kind", "payload"), MARKDOWN_PAYLOADS, ids=[k for k, _ in MARKDOWN_PAYLOADS])
def test_rendered_pages_stay_inert_under_every_extension_and_template_engine(
    kind: str, payload: str, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.env"
    secret.write_text(f"TOKEN={FILE_SENTINEL}\n", encoding="utf-8")
    text = payload.replace("/etc/passwd", str(secret))
    document = _page(text)
    portable = export.portable(document)
    body = portable.split("---\n", 2)[2]
    converted = _site(tmp_path).convert(body)
    assert live_markup(converted) == []
    assert FILE_SENTINEL not in converted, "a file was read into the page"
    assert 'class="mermaid"' not in converted
    # The same text reaches the reader as through the plugin's own fragment extension.
    through_plugin = python_markdown.Markdown(extensions=[*EVERYTHING, safe.FragmentExtension()]).convert(
        document.split("---\n", 2)[2]
    )
    assert _text(converted) == _text(through_plugin)
    # Template engines (mkdocs-macros, Zensical's macros, markdownextradata) find nothing to expand in the HTML.
    for fragment in re.findall(r"^ *<(?:div|details).*$", portable, re.M):
        assert jinja2.Environment().from_string(fragment).render() == fragment


def test_inert_html_is_the_same_document() -> None:
    cleaned = safe.sanitize(
        '<div class="rb-md"><p>a &lt;b&gt; "q" [x](y) {{ z }} --8&lt;-- <a href="https://x.org/a?b=1&amp;c=2#d" '
        'title="t\nu">l</a></p><pre><code>line 1\n  ```mermaid\n--8&lt;-- "f"\n</code></pre></div>'
    )
    inert = export.inert_html(cleaned)
    assert "\n" not in inert
    assert not re.search(r"[\[\]{}`*_:@|~^=+$\\]", re.sub(r"<[^>]*>", "", inert))
    assert _tokens(inert) == _tokens(cleaned)


def _tokens(fragment: str) -> list[object]:
    from html.parser import HTMLParser

    out: list[object] = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            out.append((tag, attrs))

        def handle_endtag(self, tag: str) -> None:
            out.append(("/", tag))

        def handle_data(self, data: str) -> None:
            out.append(data)

    parser = Parser(convert_charrefs=True)
    parser.feed(fragment)
    parser.close()
    return out


def test_admonitions_become_containers_with_their_bodies_at_the_margin() -> None:
    lines = [
        "Before",
        "",
        '!!! warning rb-destructive "Changes state&#58; x"',
        "",
        "    Body",
        "",
        '    ??? note "Inner"',
        "",
        "        Deep",
        "",
        "After",
    ]
    assert export.containers(lines) == [
        "Before",
        "",
        "",
        '<div class="admonition warning rb-destructive" markdown="1">',
        '<p class="admonition-title">Changes state&#58; x</p>',
        "",
        "Body",
        "",
        "",
        '<details class="note" markdown="1">',
        "<summary>Inner</summary>",
        "",
        "Deep",
        "",
        "</details>",
        "",
        "",
        "</div>",
        "",
        "",
        "After",
    ]


def test_the_plugin_and_render_publish_the_same_assets_at_the_same_paths() -> None:
    assert (export.MERMAID_JS, export.IFRAME_WORKER_JS, export.WORKER_FRAME_JS) == (
        plugin.MERMAID_JS,
        plugin.IFRAME_WORKER_JS,
        plugin.WORKER_FRAME_JS,
    )
    assert (export.STYLESHEET, export.SEVERITY_CSS, export.PRINT_PAGE) == (
        plugin.STYLESHEET,
        plugin.SEVERITY_CSS,
        plugin.PRINT_PAGE,
    )


# ---------------------------------------------------------------------------------------------- the folder


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "runbooks", tmp_path / "runbooks")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "about.md").write_text("# About\n\nOurs.\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795305600")
    return tmp_path


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_rerunning_writes_nothing_and_a_removed_runbook_loses_its_page(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["render", "runbooks", "-o", "docs"]) == 0
    first = capsys.readouterr()
    assert "wrote docs/runbooks/index.md" in first.out
    assert "0 removed in docs" in first.err
    written = _files(project / "docs")
    assert written["about.md"] == b"# About\n\nOurs.\n"  # the hand-written page is left alone...
    assert "about.md" in (project / "docs" / export.CONFIG).read_text(encoding="utf-8")  # ...and in the navigation
    manifest = json.loads(written[export.MANIFEST])
    assert "about.md" not in manifest["files"]
    assert manifest["files"]["index.md"] == hashlib.sha256(written["index.md"]).hexdigest()

    mtimes = {p: p.stat().st_mtime_ns for p in (project / "docs").rglob("*") if p.is_file()}
    assert main(["render", "runbooks", "-o", "docs"]) == 0
    unchanged = len(manifest["files"])
    assert capsys.readouterr().err.strip().endswith(f"0 written, {unchanged} unchanged, 0 removed in docs")
    assert {p: p.stat().st_mtime_ns for p in (project / "docs").rglob("*") if p.is_file()} == mtimes

    extra = project / "runbooks" / "extra.yaml"
    extra.write_text(re.sub(r"^id: .*$", "id: extra-copy", _unlinked_runbook(project), count=1, flags=re.M))
    assert main(["render", "runbooks", "-o", "docs", "-q"]) == 0
    assert (project / "docs" / "runbooks" / "extra-copy.md").exists()
    extra.unlink()
    assert main(["render", "runbooks", "-o", "docs"]) == 0
    assert "removed docs/runbooks/extra-copy.md" in capsys.readouterr().out
    assert _files(project / "docs") == written


def _unlinked_runbook(project: Path) -> str:
    """A runbook's YAML that no alert names (so a copy under another id is valid)."""
    for path in sorted((project / "runbooks").rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        if re.search(r"^phases:", text, re.M) and not re.search(r"^alerts:", text, re.M):
            return text
    raise AssertionError("no runbook without alerts")


def test_a_removed_page_that_was_edited_since_is_kept(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shared = project / "runbooks" / "pages"
    shared.mkdir(exist_ok=True)
    (shared / "notes.md").write_text("# Notes\n\nShared.\n", encoding="utf-8")
    assert main(["render", "runbooks", "-o", "docs", "-q"]) == 0
    page = project / "docs" / "pages" / "notes.md"
    assert page.exists()
    page.write_text(page.read_text(encoding="utf-8") + "\nMine now.\n", encoding="utf-8")
    (shared / "notes.md").unlink()
    assert main(["render", "runbooks", "-o", "docs"]) == 0
    assert "kept docs/pages/notes.md: edited since runbinder wrote it" in capsys.readouterr().err
    assert page.read_text(encoding="utf-8").endswith("Mine now.\n")


def test_a_file_it_did_not_write_is_never_overwritten(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "docs" / "severity.md").write_text("# Our own severity page\n", encoding="utf-8")
    before = _files(project / "docs")
    assert main(["render", "runbooks", "-o", "docs"]) == 2
    assert "severity.md would replace a hand-written page" in capsys.readouterr().err
    assert _files(project / "docs") == before
    (project / "docs" / "severity.md").unlink()
    (project / "docs" / "assets" / "runbinder").mkdir(parents=True)
    (project / "docs" / "assets" / "runbinder" / "runbinder.css").write_text("/* ours */\n", encoding="utf-8")
    assert main(["render", "runbooks", "-o", "docs"]) == 2
    assert "would overwrite files runbinder did not write, nothing written: assets/runbinder/runbinder.css" in (
        capsys.readouterr().err
    )
    assert not (project / "docs" / "index.md").exists()


def test_a_hand_written_home_page_wins(project: Path) -> None:
    (project / "docs" / "index.md").write_text("# Our home\n", encoding="utf-8")
    assert main(["render", "runbooks", "-o", "docs", "-q"]) == 0
    assert (project / "docs" / "index.md").read_text(encoding="utf-8") == "# Our home\n"


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("text", "runbooks/broken.yaml:1:1: error: 'owner' is a required property (schema.required)"),
        ("github", "::error file=runbooks/broken.yaml,line=1,col=1,title=schema.required::'owner' is a required"),
    ],
)
def test_problems_stop_it_with_located_messages_and_nothing_is_written(
    project: Path, capsys: pytest.CaptureFixture[str], fmt: str, expected: str
) -> None:
    (project / "runbooks" / "broken.yaml").write_text(
        "id: broken\ntitle: Broken\nkind: process\nservice: no-such-service\n", encoding="utf-8"
    )
    assert main(["render", "runbooks", "-o", "docs", "--format", fmt]) == 1
    out = capsys.readouterr()
    assert expected in out.out
    assert "nothing written to docs" in out.err
    assert _files(project / "docs") == {"about.md": b"# About\n\nOurs.\n"}


def test_check_findings_stop_it_too(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runbook = next(p for p in (project / "runbooks").rglob("*.yaml") if "catalog" not in p.name)
    text = runbook.read_text(encoding="utf-8")
    runbook.write_text(re.sub(r"^last_reviewed: .*$", "last_reviewed: 2001-01-01", text, count=1, flags=re.M))
    assert main(["render", "runbooks", "-o", "docs", "-q"]) == 0  # overdue: a banner on the page, as in the plugin
    assert main(["render", "runbooks", "-o", "out2", "--check", "--strict", "-q"]) == 1
    assert "(review" in capsys.readouterr().out
    assert not (project / "out2").exists()


def test_usage_errors(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "nowhere", "-o", "docs"]) == 2
    assert "no catalog.yaml here or above" in capsys.readouterr().err
    (project / "file").write_text("x", encoding="utf-8")
    assert main(["render", "runbooks", "-o", "file"]) == 2
    assert "not a directory" in capsys.readouterr().err
