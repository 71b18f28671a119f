"""The doors (runbinder.safe) under the hostile corpus: what comes out is inert, and shows what was written."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import markdown as python_markdown
import pytest
import yaml

from runbinder import safe, urls

from .hostile import EMAIL_PAYLOADS, MARKDOWN_PAYLOADS, PLAIN_PAYLOADS, SENTINEL, URL_PAYLOADS

FILE_SENTINEL = f"{SENTINEL}-file-content"
DANGEROUS_TAGS = {
    "script", "style", "iframe", "frame", "object", "embed", "svg", "math", "meta", "link", "base", "form",
    "textarea", "select", "button", "template", "noscript", "xmp", "plaintext", "applet", "portal",
}  # fmt: skip


class Elements(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def elements(markup: str) -> Elements:
    parser = Elements()
    parser.feed(markup)
    parser.close()
    return parser


def assert_inert(markup: str, allowed_tags: frozenset[str] | None = None) -> None:
    """No element that can run script, load something from elsewhere, embed a document or read a file."""
    for tag, attrs in elements(markup).tags:
        assert tag not in DANGEROUS_TAGS, (tag, markup)
        if allowed_tags is not None:
            assert tag in allowed_tags, (tag, markup)
        for name, value in attrs.items():
            assert not name.startswith("on"), (name, markup)
            assert name not in ("style", "srcdoc", "formaction", "xlink:href"), (name, markup)
            if name == "href":
                assert urls.is_safe(value or ""), (value, markup)
            if name == "src":
                found = urls.scheme(value or "")
                assert found is None or (found == "data" and (value or "").startswith("data:image/png")), markup
            if name == "class":
                assert "mermaid" not in (value or ""), markup


@pytest.mark.parametrize(("kind", "payload"), MARKDOWN_PAYLOADS, ids=[k for k, _ in MARKDOWN_PAYLOADS])
def test_markdown_fields_come_out_inert_and_allowlisted(kind: str, payload: str) -> None:
    rendered = safe.markdown_html(payload, safe.LinkContext("runbooks/x.md", True))
    assert_inert(rendered, safe.ALLOWED_TAGS)
    assert "8<--" not in rendered or "--8&lt;--" in rendered or "--8<--" in html.unescape(rendered)


@pytest.mark.parametrize(
    ("kind", "payload"),
    [(k, p) for k, p in MARKDOWN_PAYLOADS if k.startswith("raw-") and k != "raw-comment"],
    ids=[k for k, _ in MARKDOWN_PAYLOADS if k.startswith("raw-") and k != "raw-comment"],
)
def test_raw_html_is_shown_as_the_text_it_is(kind: str, payload: str) -> None:
    # Nothing lost: a reader sees the tags the author wrote, as text.
    visible = "".join(elements(safe.markdown_html(payload)).text)
    first_tag = re.search(r"<[a-zA-Z][^>]*>", payload)
    assert first_tag is not None
    assert first_tag.group(0) in visible


@pytest.mark.parametrize(
    ("payload", "rule_level", "fragment"),
    [
        ("See [x](javascript:alert(1)) now", "error", "javascript:alert(1)"),
        ("Pixel ![t](https://tracker.invalid/p.png)", "error", "https://tracker.invalid/p.png"),
        ("Text <img src=x onerror=alert(1)> more", "warning", "<img src=x onerror=alert(1)>"),
        ("[r]\n\n[r]: vbscript:msgbox(1)", "error", "vbscript:msgbox(1)"),
    ],
)
def test_validation_learns_what_the_door_neutralises(payload: str, rule_level: str, fragment: str) -> None:
    findings = safe.markdown_findings(payload)
    assert [(f.rule, f.level) for f in findings][:1] == [("markdown.unsafe", rule_level)]
    assert payload[findings[0].offset :].startswith(fragment)


def test_plain_markdown_has_no_findings() -> None:
    text = "Run `kill <PID>` then **stop** & go to [the runbook](runbooks/x.md) or <https://example.com>.\n\n- [ ] a"
    assert safe.markdown_findings(text) == []


def test_markdown_keeps_code_emphasis_lists_and_tables() -> None:
    rendered = safe.markdown_html("Run `kill <PID>` then **stop** & go.\n\n| a | b |\n|:-|-:|\n| 1 | 2 |\n\n- [x] done")
    assert "<code>kill &lt;PID&gt;</code>" in rendered
    assert "<strong>stop</strong>" in rendered
    assert '<td align="right">2</td>' in rendered
    assert 'class="task-list-item"' in rendered


def test_field_headings_sit_below_the_page_headings() -> None:
    assert re.findall(r"<(h\d)>", safe.markdown_html("# a\n\n## b\n\n### c\n\n#### d")) == ["h4", "h5", "h6", "h6"]


def test_relative_links_and_images_follow_the_site_layout() -> None:
    directory = safe.LinkContext("runbooks/a.md", True)
    assert directory.href("runbooks/b.md#triage") == "../b/#triage"
    assert directory.href("index.md") == "../../"
    assert directory.href("images/x.png") == "../../images/x.png"
    flat = safe.LinkContext("runbooks/a.md", False)
    assert flat.href("services/s.md") == "../services/s.html"
    assert flat.href("#here") == "#here"
    binder = safe.LinkContext("runbooks/a.md", None)
    assert binder.href("runbooks/b.md") == "b.md"
    # Relative to the page's .md path like a page link, so the binder resolves both the same way (it once read
    # images/x.png from runbooks/a.md as runbooks/images/x.png, and the image was missing from the PDF).
    assert binder.href("images/x.png") == "../images/x.png"
    rendered = safe.markdown_html("[b](runbooks/b.md) ![i](images/i.png)", flat)
    assert 'href="b.html"' in rendered
    assert 'src="../images/i.png"' in rendered


def test_a_remote_image_becomes_a_link_not_a_request() -> None:
    rendered = safe.markdown_html("![dashboard](https://grafana.invalid/d.png)")
    assert "<img" not in rendered
    assert 'href="https://grafana.invalid/d.png"' in rendered
    assert "Image: dashboard" in rendered


SITE_EXTENSIONS = [
    "admonition",
    "attr_list",
    "md_in_html",
    "tables",
    "toc",
    "abbr",
    "def_list",
    "footnotes",
    "pymdownx.details",
    "pymdownx.superfences",
    "pymdownx.tasklist",
    "pymdownx.highlight",
    "pymdownx.inlinehilite",
    "pymdownx.magiclink",
    "pymdownx.mark",
    "pymdownx.tilde",
    "pymdownx.caret",
    "pymdownx.emoji",
    "pymdownx.critic",
    "pymdownx.snippets",
]
"""A site that enables everything: no extension may turn runbook text into markup, a diagram or a file."""


def _site_markdown(base: Path) -> python_markdown.Markdown:
    return python_markdown.Markdown(
        extensions=[*SITE_EXTENSIONS, safe.FragmentExtension()],
        extension_configs={
            "pymdownx.snippets": {"base_path": [str(base)], "check_paths": False},
            "pymdownx.superfences": {
                "custom_fences": [{"name": "mermaid", "class": "mermaid", "format": _mermaid2_like}]
            },
        },
    )


def _mermaid2_like(source: str, language: str, css_class: str, options: object, md: object, **_: object) -> str:
    return f'<div class="mermaid">{source}</div>'  # like mermaid2's fence: no escaping at all


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.env"
    path.write_text(f"TOKEN={FILE_SENTINEL}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("kind", "payload"), PLAIN_PAYLOADS, ids=[k for k, _ in PLAIN_PAYLOADS])
def test_plain_text_shows_exactly_as_written_under_every_extension(
    kind: str, payload: str, tmp_path: Path, secret: Path
) -> None:
    md = _site_markdown(tmp_path)
    text = payload.replace("/etc/passwd", str(secret))
    converted = md.convert(f"Value: {safe.md_text(text)}\n\n| cell |\n|---|\n| {safe.md_text(text)} |")
    assert_inert(converted)
    found = elements(converted)
    assert [t for t, _ in found.tags] == ["p", "table", "thead", "tr", "th", "tbody", "tr", "td"]
    assert f"Value: {' '.join(text.split())}" in "".join(found.text)
    assert FILE_SENTINEL not in converted


@pytest.mark.parametrize(("kind", "payload"), MARKDOWN_PAYLOADS, ids=[k for k, _ in MARKDOWN_PAYLOADS])
def test_fields_and_code_in_a_page_stay_inert_under_every_extension(
    kind: str, payload: str, tmp_path: Path, secret: Path
) -> None:
    md = _site_markdown(tmp_path)
    text = payload.replace("/etc/passwd", str(secret))
    context = safe.LinkContext("runbooks/x.md", False)
    page = "\n\n".join(
        [
            "# " + safe.md_text(text),
            safe.block(text, context),
            safe.bullet_list([text, text], context, tasks=True),
            '!!! warning "' + safe.md_text("Changes state: " + text) + '"',
            "    " + safe.code_block(text, "bash"),
        ]
    )
    converted = md.convert(page)
    assert_inert(converted)
    assert FILE_SENTINEL not in converted, "a file was read into the page"
    assert 'class="mermaid"' not in converted


def test_code_reaches_the_page_verbatim(tmp_path: Path, secret: Path) -> None:
    code = f'--8<-- "{secret}"\n{{% include "{secret}" %}}\n{{{{ config }}}}\nrbfragdeadbeef\n<script>x</script>\n'
    converted = _site_markdown(tmp_path).convert(safe.code_block(code, "bash"))
    assert html.unescape(re.sub(r"<[^>]+>", "", converted)) == code
    assert FILE_SENTINEL not in converted


def test_fragment_markers_cannot_be_forged() -> None:
    md = python_markdown.Markdown(extensions=[safe.FragmentExtension()])
    forged = "rbfrag" + "0" * 24 + "1" * 32
    real_but_unknown = "rbfrag" + safe.FRAGMENTS.nonce + "f" * 32
    converted = md.convert(f"{forged} {real_but_unknown}")
    assert forged in converted
    assert "rbfrag" + safe.FRAGMENTS.nonce not in converted  # an unknown key expands to nothing, never to text


def test_fragment_html_is_cleaned_whoever_built_it() -> None:
    marker = safe.fragment('<p onclick="x">a</p><script>alert(1)</script><a href="javascript:x">b</a>')
    assert safe.FRAGMENTS.inline(marker) == '<p>a</p><a rel="noopener noreferrer">b</a>'


@pytest.mark.parametrize(("kind", "payload"), PLAIN_PAYLOADS, ids=[k for k, _ in PLAIN_PAYLOADS])
def test_css_strings_cannot_leave_the_string_or_the_style_element(kind: str, payload: str) -> None:
    value = safe.css_string(payload)
    inner = value[1:-1]
    assert value[0] == value[-1] == '"'
    assert not set(inner) & {'"', "<", "\n"}
    assert re.fullmatch(r"(?:[A-Za-z0-9 _.,!?/+-]|\\[0-9a-f]{6})*", inner)


def test_css_idents_and_colours() -> None:
    assert safe.css_ident("sev1 } body {") == "sev1body"
    assert safe.css_color("#E65100") == "#E65100"
    assert safe.css_color("red; background: url(//x)") == "#616161"


@pytest.mark.parametrize(("kind", "payload"), PLAIN_PAYLOADS, ids=[k for k, _ in PLAIN_PAYLOADS])
def test_titles_handed_to_mkdocs_are_escaped(kind: str, payload: str) -> None:
    title = safe.nav_title(payload)
    assert not set(title) & {"<", ">", '"'}
    assert html.unescape(title) == " ".join(payload.split())
    front = safe.page_front_matter(payload)
    meta = yaml.safe_load(front.split("---")[1])
    assert meta == {"title": title, "render_macros": False}


DESTINATIONS = URL_PAYLOADS + EMAIL_PAYLOADS


@pytest.mark.parametrize(("kind", "url"), DESTINATIONS, ids=[k for k, _ in DESTINATIONS])
def test_link_destinations_cannot_end_the_link(kind: str, url: str) -> None:
    converted = python_markdown.markdown(f"[label]({safe.md_url(url)}) after")
    found = elements(converted)
    assert [t for t, _ in found.tags] == ["p", "a"]
    assert "".join(found.text) == "label after"


def test_mermaid_labels_are_entity_codes_only() -> None:
    label = safe.mermaid_label('x"]\nclick A call alert(1)\n%%{init: {}}%%')
    assert re.fullmatch(r"(?:[A-Za-z0-9 ]|#\d+;|<br>)*", label)
    assert label.count("<br>") == 2


def test_front_matter_is_yaml_with_a_json_string() -> None:
    front = safe.page_front_matter('a "quoted" title: with --- dashes\nand a newline')
    title = json.loads(front.splitlines()[1].removeprefix("title: "))
    assert title == "a &quot;quoted&quot; title: with --- dashes and a newline"


@pytest.mark.parametrize(
    ("folder", "target"),
    [
        ("runbooks", "severity.html"),
        (".", "runbooks/a.html"),
        ("a/b", "a/c/"),
        ("runbooks", "../../../x.md"),
        (".", ""),
    ],
)
def test_relative_links_do_not_depend_on_the_working_directory(
    folder: str, target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Relative links are remembered per folder and target: what is remembered must not depend on the directory
    the process happened to be in, even for a path that climbs above the site."""
    import posixpath

    from runbinder import safe

    deep = tmp_path.joinpath(*["d"] * 8)
    deep.mkdir(parents=True)
    found = []
    for where in (Path("/"), deep):
        monkeypatch.chdir(where)
        safe._from_folder.cache_clear()
        found.append(safe._from_folder(folder, target))
    assert found[0] == found[1]
    if ".." not in target:  # what relpath says from anywhere, for a path inside the site
        assert found[0].rstrip("/") == posixpath.relpath(target or ".", folder)
