"""The doors: every value from a runbook reaches an output through exactly one function of this module.

- Plain text inside a generated Markdown page (titles, table cells): ``md_text``, ``md_code_span``; URLs of
  Markdown links: ``md_url``.
- Commands and other verbatim text in a page: ``md_fence``.
- Markdown fields (summaries, step text, checklist items): ``markdown_html`` (Python-Markdown with raw HTML off,
  then the nh3 allowlist below), carried into a page by ``fragment``/``block``/``bullet_list``.
- HTML text and attribute values (binder, print page): ``html_text``, ``html_attr``.
- Navigation entries, page titles, breadcrumbs handed to MkDocs: ``nav_title`` and ``page_front_matter``.
- CSS strings, class names and colours: ``css_string``, ``css_ident``, ``css_color``.
- Mermaid labels: ``mermaid_label``.

File names and messages in diagnostics have theirs in ``diagnostics``.

Markdown fields are never handed to MkDocs as Markdown: the site's own Markdown configuration (which may enable
snippets, attribute lists, mermaid fences or macros) never sees runbook prose. Each field is rendered here by a
fixed Python-Markdown configuration that has no raw HTML at all (a tag is shown as the text it is), then cleaned
by nh3 (Rust's ammonia) with the allowlist ``ALLOWED_*`` below, and the page only carries an unforgeable marker
that ``FragmentExtension`` swaps for the cleaned HTML after every other Markdown processor has run.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import posixpath
import re
import secrets
import threading
import urllib.parse
import xml.etree.ElementTree as etree
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import markdown as python_markdown
import nh3
from markdown import util as md_util
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor

from . import urls

if TYPE_CHECKING:
    from .checks.cache import VerdictCache

# --------------------------------------------------------------------------------------------------- allowlist

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h4", "h5", "h6", "hr",
        "i", "img", "input", "ins", "kbd", "label", "li", "mark", "ol", "p", "pre", "s", "samp", "small", "span",
        "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul", "var",
    }
)  # fmt: skip
"""Tags a Markdown field may produce. No script, style, iframe, object, embed, form, svg, math, base or meta."""

ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "span": {"data-rb-sev"},  # a severity badge's level (see ALLOWED_CLASSES)
    "img": {"src", "alt", "title"},
    "abbr": {"title"},
    "ol": {"start"},
    "input": {"checked", "disabled"},
}
"""Attributes per tag. No event handlers, no style, no id or name (they would clobber the page's own ids)."""

ALLOWED_VALUES: dict[str, dict[str, set[str]]] = {
    "input": {"type": {"checkbox"}},  # task lists
    "th": {"align": {"left", "center", "right"}},  # table column alignment (tables' use_align_attribute)
    "td": {"align": {"left", "center", "right"}},
}
"""Attributes allowed only with one of these exact values."""


def _pygments_classes() -> set[str]:
    from pygments.token import STANDARD_TYPES

    return {name for name in STANDARD_TYPES.values() if name}


ALLOWED_CLASSES: dict[str, set[str]] = {
    "div": {"highlight", "rb-md"},
    # rb-sev: a severity badge in a table built as HTML (Renderer.badge_html), coloured by severity.css from its
    # data-rb-sev. At worst a Markdown field could draw a badge of its own: text, never markup.
    "span": {"task-list-indicator", "rb-sev", *_pygments_classes()},
    "label": {"task-list-control"},
    "ul": {"task-list"},
    "li": {"task-list-item"},
}
"""Classes per tag: the structure of code highlighting and task lists, never ``mermaid`` or a theme's hooks."""

# The interactive page (assets/runbinder.js): the one place its hooks join the allowlist. A placeholder in a
# highlighted command is ``<span class="rb-var" data-rb-var="NAME">`` (``code_html``); the variables form is a
# ``div.rb-vars`` list whose ``dt`` name each placeholder (secret and site-wide ones carry a class); ``div.rb-progress``
# and ``div.rb-filter`` are where the script puts the tick progress and the alerts filter. The script only ever sets
# text (textContent), so a name or value in these attributes is data, never markup.
INTERACTIVE_CLASSES: dict[str, set[str]] = {
    "span": {"rb-var"},
    "div": {"rb-vars", "rb-progress", "rb-filter"},
    "dt": {"rb-var-secret", "rb-var-site"},
    "p": {"rb-var-note"},
}
INTERACTIVE_ATTRIBUTES: dict[str, set[str]] = {"span": {"data-rb-var"}, "dt": {"data-rb-var"}}
for _tag, _names in INTERACTIVE_CLASSES.items():
    ALLOWED_CLASSES.setdefault(_tag, set()).update(_names)
for _tag, _names in INTERACTIVE_ATTRIBUTES.items():
    ALLOWED_ATTRIBUTES.setdefault(_tag, set()).update(_names)

LINK_SCHEMES = frozenset(urls.SAFE_SCHEMES)
"""Schemes a link in a Markdown field may use (relative links are allowed too)."""

IMAGE_TYPES = frozenset({"png", "gif", "jpeg", "webp"})
"""``data:image/...`` types an inline image may use. A remote image becomes a link: the site makes no request."""

REMOVE_WITH_CONTENT = frozenset({"script", "style"})
"""Tags removed together with their content (the others are unwrapped and their text kept)."""


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    # The allowlist's last word on URLs: ammonia has already refused schemes outside the set passed to it.
    if tag == "a" and attribute == "href":
        return value if urls.is_safe(value) else None
    if tag == "img" and attribute == "src":
        found = urls.scheme(value)
        if found is None:
            return value
        return value if found == "data" and _is_data_image(value) else None
    return value


def _is_data_image(value: str) -> bool:
    match = re.match(r"data:image/([a-z]+)[;,]", value.strip(), re.IGNORECASE)
    return bool(match) and match.group(1).lower() in IMAGE_TYPES  # type: ignore[union-attr]


_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(REMOVE_WITH_CONTENT),
    attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
    attribute_filter=_attribute_filter,
    strip_comments=True,
    link_rel="noopener noreferrer",
    tag_attribute_values={tag: {a: set(v) for a, v in values.items()} for tag, values in ALLOWED_VALUES.items()},
    url_schemes={*LINK_SCHEMES, "data"},
    allowed_classes={tag: set(names) for tag, names in ALLOWED_CLASSES.items()},
)


PAGE_TAGS = frozenset({"h2", "h3"})
"""Shared pages (``pages/``) are whole pages: their sections keep second- and third-level headings, with ids."""


def _page_attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "id":
        return value if re.fullmatch(r"[a-z0-9][a-z0-9-]{0,80}", value) else None
    return _attribute_filter(tag, attribute, value)


_PAGE_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS | PAGE_TAGS),
    clean_content_tags=set(REMOVE_WITH_CONTENT),
    attributes={
        **{tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        **{tag: {"id"} for tag in ("h2", "h3", "h4", "h5", "h6")},
    },
    attribute_filter=_page_attribute_filter,
    strip_comments=True,
    link_rel="noopener noreferrer",
    tag_attribute_values={tag: {a: set(v) for a, v in values.items()} for tag, values in ALLOWED_VALUES.items()},
    url_schemes={*LINK_SCHEMES, "data"},
    allowed_classes={tag: set(names) for tag, names in ALLOWED_CLASSES.items()},
)


@functools.lru_cache(maxsize=1 << 13)
def sanitize(fragment: str, page: bool = False) -> str:
    """HTML cleaned to the allowlist: the wall every Markdown field's HTML passes, whatever produced it.
    ``page``: a shared page's body, which may also hold h2/h3 headings with ids.

    Remembered: cleaning depends on nothing but the text, and a page repeats its blocks (a command is shown in
    its step and again in the page's summary)."""
    return (_PAGE_CLEANER if page else _CLEANER).clean(fragment)


# --------------------------------------------------------------------------------------------------- plain text

# Characters that Markdown or a common extension gives meaning to (links, images, emphasis, code, raw HTML,
# attribute lists, tables, emoji, marks, math), written as numeric character references: Markdown shows an entity
# as its character and never parses it as syntax, whichever extensions a site enables.
_MD_ENTITIES = str.maketrans(
    {ch: f"&#{ord(ch)};" for ch in "&<>\\`*_[]{}#|!~^=+:$"} | {chr(code): " " for code in range(32)} | {"\x7f": " "}
)


def md_text(value: object) -> str:
    """Plain text for one line of a generated Markdown page (a heading, a table cell, a link's label).

    Shown exactly as written: characters with a meaning to Markdown or its extensions become character
    references, so no link, attribute list, emphasis or raw HTML can form. Runs of whitespace become one space."""
    return " ".join(str(value).split()).translate(_MD_ENTITIES)


def md_code_span(value: object) -> str:
    """Inline code showing ``value`` verbatim (any backticks inside included); not for table cells."""
    text = " ".join(str(value).split())
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def md_fence(body: str, language: str = "text", title: str | None = None) -> str:
    """A fenced code block that no backtick or tilde run inside ``body`` can close early.

    ``language`` and ``title`` come from our own code or from schema enums; the title is attribute-escaped."""
    longest = max((len(m) for m in re.findall(r"^[ \t]*(`{3,})", body, re.MULTILINE)), default=2)
    ticks = "`" * max(3, longest + 1)
    if not re.fullmatch(r"[A-Za-z0-9_+.-]*", language):
        language = "text"
    attrs = f' title="{html_attr(" ".join(title.split()))}"' if title else ""
    return f"{ticks}{language}{attrs}\n{body.rstrip(chr(10))}\n{ticks}"


def md_url(url: str) -> str:
    """A URL as a Markdown link destination: characters that could end the destination or the link (spaces,
    parentheses, angle brackets, quotes, backslashes, control characters) are percent-encoded."""
    return urllib.parse.quote(url, safe="#%&+,/:;=?@~!$*[]-._")


# --------------------------------------------------------------------------------------------------- HTML


def html_text(value: object) -> str:
    """Text for an HTML element's content."""
    return html.escape(str(value), quote=True)


def html_attr(value: object) -> str:
    """Text for a double-quoted HTML attribute value."""
    return html.escape(str(value), quote=True)


def nav_title(value: object) -> str:
    """A title handed to MkDocs for the navigation, breadcrumbs and search: themes print it as HTML."""
    return html.escape(" ".join(str(value).split()), quote=True)


def page_front_matter(title: object, searchable: bool = True) -> str:
    """Front matter for a generated page: its title (Material prints ``page.meta.title`` as HTML in ``<title>``,
    while an h1-derived title reaches ``<title>`` through ``striptags``, which turns ``&lt;`` back into ``<``),
    ``render_macros: false`` so mkdocs-macros never treats runbook text as a template, and, unless ``searchable``,
    Material's ``search: exclude``."""
    search = "" if searchable else "search:\n  exclude: true\n"
    return f"---\ntitle: {json.dumps(nav_title(title))}\nrender_macros: false\n{search}---\n\n"


# --------------------------------------------------------------------------------------------------- CSS

_CSS_PLAIN = re.compile(r"[A-Za-z0-9 _.,!?/+-]")


def css_string(value: object) -> str:
    """A double-quoted CSS string: everything outside a small safe set is a hex escape (so ``</style>``,
    quotes, backslashes and newlines cannot end the string or the style element)."""
    text = " ".join(str(value).split())
    return '"' + "".join(ch if _CSS_PLAIN.fullmatch(ch) else f"\\{ord(ch):06x}" for ch in text) + '"'


def css_ident(value: object) -> str:
    """A class-name fragment: only ``[a-z0-9-]`` survive (ids are validated to that already)."""
    return re.sub(r"[^a-z0-9-]", "", str(value).lower()) or "x"


def css_color(value: object, default: str = "#616161") -> str:
    """A ``#rrggbb`` colour, or the default for anything else."""
    text = str(value)
    return text if re.fullmatch(r"#[0-9A-Fa-f]{6}", text) else default


# --------------------------------------------------------------------------------------------------- mermaid

_MERMAID_PLAIN = re.compile(r"[A-Za-z0-9 ]")


def mermaid_label(text: object) -> str:
    """A mermaid label body: characters outside [A-Za-z0-9 ] become ``#code;`` entity codes, newlines ``<br>``.

    Quotes, brackets, ``<``, ``#``, ``|``, ``;``, ``%%`` directives, ``click`` lines and reserved words such as
    ``end`` are then all plain text to mermaid."""
    parts = []
    for line in str(text).split("\n"):
        parts.append("".join(ch if _MERMAID_PLAIN.fullmatch(ch) else f"#{ord(ch)};" for ch in line))
    return "<br>".join(parts)


# --------------------------------------------------------------------------------------------------- Markdown fields


@dataclass(frozen=True)
class LinkContext:
    """Where a Markdown field is shown, for its relative links and images.

    Relative targets in runbook text are paths from the site root (``runbooks/db-failover.md#triage``,
    ``images/topology.png``), like every other relative link in the YAML. ``directory_urls`` is MkDocs'
    ``use_directory_urls``; None keeps ``.md`` targets and writes every target relative to the page's ``.md`` path
    (the binder maps pages to its own sections and files to the paths it copies them to)."""

    here: str = "index.md"
    directory_urls: bool | None = None

    def href(self, target: str) -> str:
        """The href, on this page, of a site-root-relative target."""
        path, hash_, fragment = target.partition("#")
        if not path:
            return target
        path = posixpath.normpath(path.lstrip("/"))
        if path.endswith(".md") and self.directory_urls is not None:
            return _relative_url(page_url(self.here, self.directory_urls), page_url(path, self.directory_urls)) + (
                hash_ + fragment
            )
        if self.directory_urls is None:  # relative to the page's .md path, as the binder resolves every link
            return posixpath.relpath(path, posixpath.dirname(self.here) or ".") + hash_ + fragment
        return _relative_url(page_url(self.here, self.directory_urls), path) + hash_ + fragment


def page_url(page: str, directory_urls: bool | None) -> str:
    """The URL (relative to the site root) MkDocs gives a docs page."""
    stem = page.removesuffix(".md")
    if stem == "index" or stem.endswith("/index"):
        return stem.removesuffix("index") if directory_urls else stem + ".html"
    return stem + "/" if directory_urls else stem + ".html"


def _relative_url(from_url: str, to_path: str) -> str:
    folder = from_url if from_url.endswith("/") or not from_url else posixpath.dirname(from_url)
    return _from_folder(folder.rstrip("/") or ".", to_path)


# Site paths are made absolute under this folder, not the working directory: a path that climbs above the site
# (``../x.md``, itself a link finding) then comes out the same from any working directory, as a memo needs.
_SITE_ROOT = "/" + "/".join(["site"] * 32)


@functools.lru_cache(maxsize=1 << 16)
def _from_folder(folder: str, to_path: str) -> str:
    """``to_path`` relative to ``folder`` (pages in one folder link to the same pages: each pair is worked out once;
    posixpath.relpath took a third of the time spent making pages)."""
    relative = posixpath.relpath(posixpath.join(_SITE_ROOT, to_path or "."), posixpath.join(_SITE_ROOT, folder))
    if (not to_path or to_path.endswith("/")) and not relative.endswith("/"):
        relative += "/"
    return relative


@dataclass(frozen=True)
class Finding:
    """Something in a Markdown field that the door changed: where it starts in the text, and why."""

    offset: int
    rule: str
    level: str
    message: str


_RAW_HTML = r"(<(\/?[a-zA-Z][^<>@ ]*( [^<>]*)?|!--(?:(?!<!--|-->).)*--)>)"  # Python-Markdown's own HTML_RE


class _ShownAsText(InlineProcessor):
    """Raw HTML in a field: kept as the literal text it is (nothing lost, nothing rendered)."""

    def __init__(self, record: Callable[[str, str], None]) -> None:
        super().__init__(_RAW_HTML)
        self.record = record

    def handleMatch(self, m: re.Match[str], data: str) -> tuple[str, int, int]:  # type: ignore[override]
        self.record("html", m.group(0))
        return md_util.AtomicString(m.group(0)), m.start(0), m.end(0)


class _FieldTree(Treeprocessor):
    """Headings shifted below the page's own, links and images checked against the URL policy and rewritten."""

    def __init__(self, md: python_markdown.Markdown, state: _State) -> None:
        super().__init__(md)
        self.state = state

    def run(self, root: etree.Element) -> None:
        ids: set[str] = set()
        for parent in root.iter():
            for index, el in enumerate(list(parent)):
                if el.tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
                    el.tag = f"h{min(6, int(el.tag[1]) + self.state.shift)}"
                    if self.state.page:
                        el.set("id", _unique(_slug("".join(el.itertext())), ids))
                elif el.tag == "a":
                    self._link(el)
                elif el.tag == "img":
                    self._image(parent, index, el)

    def _link(self, el: etree.Element) -> None:
        href = _attribute_value(el.get("href", ""))
        if not urls.is_safe(href):
            self.state.record("link", href)
            del el.attrib["href"]
        elif urls.scheme(href) is None:
            el.set("href", self.state.context.href(href))

    def _image(self, parent: etree.Element, index: int, el: etree.Element) -> None:
        src = _attribute_value(el.get("src", ""))
        found = urls.scheme(src)
        if found is None:
            el.set("src", self.state.context.href(src))
        elif found == "data" and _is_data_image(src):
            pass
        elif found in ("http", "https"):
            # The site makes no request: a remote image is shown as a link a reader may choose to follow.
            self.state.record("image", src)
            link = etree.Element("a", {"href": src})
            link.text = md_util.AtomicString(f"Image: {el.get('alt') or src}")
            link.tail = el.tail
            parent[index] = link
        else:
            self.state.record("link", src)
            del el.attrib["src"]


def _attribute_value(value: str) -> str:
    # Python-Markdown keeps entity-encoded attribute text (automail links) with a placeholder for '&'.
    return html.unescape(value.replace(md_util.AMP_SUBSTITUTE, "&"))


@dataclass
class _State:
    context: LinkContext = field(default_factory=LinkContext)
    found: list[tuple[str, str]] = field(default_factory=list)
    shift: int = 3  # a field's headings sit below the page's own (h1 becomes h4)
    page: bool = False  # a shared page: h1 becomes h2, headings get ids for links to its sections

    def record(self, kind: str, value: str) -> None:
        self.found.append((kind, value))


def _slug(text: str) -> str:
    """A heading's anchor as GitHub makes it (lower case, hyphens), so links written for GitHub keep working."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80].strip("-") or "section"


def _unique(ident: str, used: set[str]) -> str:
    candidate, n = ident, 1
    while candidate in used:
        candidate = f"{ident}-{n}"
        n += 1
    used.add(candidate)
    return candidate


class _FieldEngine:
    """One Python-Markdown instance in the fixed configuration for fields, reused (guarded: serve runs threads)."""

    def __init__(self) -> None:
        self.state = _State()
        self.md = python_markdown.Markdown(
            extensions=["tables", "sane_lists", "pymdownx.superfences", "pymdownx.highlight", "pymdownx.tasklist"],
            extension_configs={
                "tables": {"use_align_attribute": True},
                "pymdownx.highlight": {"guess_lang": False, "use_pygments": True},
                "pymdownx.tasklist": {"custom_checkbox": True},
            },
        )
        # No raw HTML: neither blocks nor inline tags are recognised; the inline pattern that would stash a tag
        # shows it as text instead and records it.
        self.md.preprocessors.deregister("html_block")
        self.md.inlinePatterns.deregister("html")
        # No block quotes: in runbooks a line starting with '>' is a comparison (">50% of users"), not a quote.
        self.md.parser.blockprocessors.deregister("quote")
        self.md.inlinePatterns.register(_ShownAsText(self.state.record), "html", 90)
        self.md.treeprocessors.register(_FieldTree(self.md, self.state), "runbinder-field", 5)
        self.lock = threading.Lock()

    def render(self, text: str, context: LinkContext, page: bool = False) -> tuple[str, list[tuple[str, str]]]:
        with self.lock:
            self.state.context = context
            self.state.found = []
            self.state.page = page
            self.state.shift = 1 if page else 3
            try:
                converted = self.md.convert(text)
            finally:
                self.md.reset()
            return converted, list(self.state.found)


_ENGINE: _FieldEngine | None = None
_PLAIN_FIELD = re.compile(r"[A-Za-z0-9(][A-Za-z0-9 ,;'\"()?/%@+=.]*")


def _engine() -> _FieldEngine:
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = _FieldEngine()
    return _ENGINE


@functools.lru_cache(maxsize=1 << 14)
def markdown_html(text: str, context: LinkContext = LinkContext(), page: bool = False) -> str:
    """A Markdown field as safe HTML: rendered without raw HTML, then cleaned to the allowlist. ``page``: a shared
    page's whole body (headings from h2, with ids)."""
    if _PLAIN_FIELD.fullmatch(text) and not text.endswith("  "):
        return f"<p>{html.escape(text, quote=False)}</p>"  # a plain sentence: what the engine would return
    converted, _ = _engine().render(text, context, page)
    return sanitize(converted, page)


def markdown_inline_html(text: str, context: LinkContext = LinkContext()) -> str:
    """A Markdown field for inline use (a list item's text): one paragraph loses its ``<p>``."""
    rendered = markdown_html(text, context)
    if rendered.startswith("<p>") and rendered.endswith("</p>") and rendered.count("<p>") == 1:
        return rendered[3:-4]
    return rendered


_HTML_ELEMENT_NAMES = """
    a abbr address area article aside audio b base bdi bdo blockquote body br button canvas caption cite
    code col colgroup data datalist dd del details dfn dialog div dl dt em embed fieldset figcaption
    figure font footer form frame frameset h1 h2 h3 h4 h5 h6 head header hr html i iframe img input ins
    kbd label legend li link main map mark math menu meta meter nav noscript object ol optgroup option
    output p param picture portal pre progress q rp rt ruby s samp script section select slot small
    source span strong style sub summary sup svg table tbody td template textarea tfoot th thead time
    title tr track u ul var video wbr xmp plaintext marquee center !--
"""
HTML_ELEMENTS = frozenset(_HTML_ELEMENT_NAMES.split())
"""Names that make ``<name ...>`` a tag a reader meant as HTML; anything else in angle brackets is a placeholder."""


def _tag_name(raw: str) -> str:
    match = re.match(r"</?([A-Za-z][A-Za-z0-9]*)", raw)
    return match.group(1).lower() if match else ("!--" if raw.startswith("<!--") else "")


def _looks_like_tag(raw: str) -> bool:
    """A tag an author meant as HTML: a known element, alone, closing, or with attributes (``<b>``, ``</b>``,
    ``<img src=x>``); not ``<output of the command>``, which only starts with an element's name."""
    if _tag_name(raw) not in HTML_ELEMENTS:
        return False
    rest = re.sub(r"^</?[A-Za-z][A-Za-z0-9]*|/?>$", "", raw).strip()
    return raw.startswith(("</", "<!--")) or not rest or "=" in rest


_MAYBE_UNSAFE = re.compile(r"<[A-Za-z/!?]|\]\s*[(\[:]")


def markdown_findings(text: str) -> list[Finding]:
    """What ``markdown_html`` would neutralise in ``text``, located by character offset (for validation)."""
    if not _MAYBE_UNSAFE.search(text):  # no tag, autolink, link or image can form without one of these
        return []
    _, found = _engine().render(text, LinkContext())
    out = []
    searched_from: dict[str, int] = {}
    for kind, value in found:
        start = text.find(value, searched_from.get(value, 0)) if value else -1
        searched_from[value] = start + 1 if start >= 0 else 0
        offset = max(start, 0)
        shown = value if len(value) <= 60 else value[:57] + "..."
        if kind == "html":
            if not _looks_like_tag(value):
                continue  # <namespace>, <pod name>: a placeholder in angle brackets, shown as written, as meant
            out.append(
                Finding(offset, "markdown.unsafe", "warning", f"raw HTML {shown!r} is shown as text, not rendered")
            )
        elif kind == "image":
            out.append(
                Finding(
                    offset,
                    "markdown.unsafe",
                    "error",
                    f"remote image {shown!r}: the site makes no network request, so it is shown as a link; "
                    "put the image in the docs folder and link it by path",
                )
            )
        else:
            scheme = urls.scheme(value) or "?"
            out.append(
                Finding(
                    offset,
                    "markdown.unsafe",
                    "error",
                    f"{scheme}: link {shown!r} is removed (allowed: {', '.join(sorted(LINK_SCHEMES))} and relative)",
                )
            )
    return out


# --------------------------------------------------------------------------------------------------- fragments


class Fragments:
    """Cleaned HTML kept out of a generated page's Markdown: the page carries a marker instead.

    A marker is plain letters and digits (Python-Markdown strips control characters before its own raw-HTML
    stash runs) holding a random per-process nonce and the digest of its HTML: runbook text cannot forge one,
    since the nonce exists only in this process and is never written to any output."""

    def __init__(self) -> None:
        self.nonce = secrets.token_hex(12)
        self.store: dict[str, str] = {}
        self.pattern = re.compile("rbfrag" + self.nonce + "([0-9a-f]{32})")

    def put(self, cleaned_html: str) -> str:
        """Store cleaned HTML; returns its marker."""
        key = hashlib.blake2b(cleaned_html.encode("utf-8"), digest_size=16).hexdigest()
        self.store[key] = cleaned_html
        return f"rbfrag{self.nonce}{key}"

    def inline(self, text: str) -> str:
        """``text`` with every marker replaced by its HTML itself (to read or compare a generated page)."""
        return self.pattern.sub(lambda m: self.store.get(m.group(1), ""), text)

    def expand(self, text: str, store: Callable[[str], str]) -> str:
        """Replace every marker with what ``store`` (Python-Markdown's raw-HTML stash) makes of its HTML."""
        return self.pattern.sub(lambda m: store(self.store.get(m.group(1), "")), text)


FRAGMENTS = Fragments()


def fragment(built_html: str, page: bool = False) -> str:
    """The marker a generated page carries for a piece of HTML: cleaned to the allowlist here, whoever built it."""
    return FRAGMENTS.put(sanitize(built_html, page))


def page_block(text: str, context: LinkContext) -> str:
    """A shared page's Markdown body as a block of its generated page."""
    return fragment(f'<div class="rb-md">{markdown_html(text, context, page=True)}</div>', page=True)


class _FragmentPreprocessor(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        text = "\n".join(lines)
        if "rbfrag" + FRAGMENTS.nonce not in text:
            return lines
        return FRAGMENTS.expand(text, self.md.htmlStash.store).split("\n")


class FragmentExtension(Extension):
    """Python-Markdown extension that puts each fragment's HTML into a page through Python-Markdown's own raw-HTML
    stash, whose placeholders only the final postprocessor replaces: no other processor sees the HTML.

    Its preprocessor runs right after whitespace normalisation (30), which would strip the stash's control
    characters, and before fenced code (25) and raw-HTML blocks (20)."""

    def extendMarkdown(self, md: python_markdown.Markdown) -> None:
        md.preprocessors.register(_FragmentPreprocessor(md), "runbinder-fragments", 29)


class HighlightStore:
    """Highlighted blocks kept between builds (``<cache_dir>/highlight.json``, a VerdictCache file: atomic, merged,
    ignored when unreadable), keyed by the block, runbinder's code and Pygments' version. What it holds still passes
    the sanitizer on its way to a page, like every fragment."""

    def __init__(self, directory: Path) -> None:
        from importlib.metadata import version

        from .checks.cache import code_digest

        self.directory = directory
        self.version = f"{code_digest()} pygments {version('pygments')}"

    @functools.cached_property
    def cache(self) -> VerdictCache:
        """The file, read when a command is first highlighted (a build whose pages were kept highlights none)."""
        from .checks.cache import VerdictCache

        return VerdictCache(self.directory, name="highlight.json")

    def save(self) -> None:
        """Write what was added, if the file was read at all."""
        if "cache" in self.__dict__:
            self.cache.save()

    def key(self, code: str, language: str, placeholders: tuple[str, ...], bare: tuple[str, ...]) -> str:
        options = json.dumps([language, placeholders, bare])
        return self.cache.key("highlight", self.version, options, code)


HIGHLIGHTS: HighlightStore | None = None
"""Set by the MkDocs plugin for a build; None: nothing is kept."""


@functools.lru_cache(maxsize=1 << 14)
def code_html(code: str, language: str = "text", placeholders: tuple[str, ...] = (), bare: tuple[str, ...] = ()) -> str:
    """Verbatim text (a command, a template, expected output) as highlighted HTML, the structure
    pymdownx.highlight gives a fenced block (so Material's copy button and styles apply).

    Each use of a name in ``placeholders`` (the variables the page declares; ``bare`` ones as plain words) is
    wrapped in ``<span class="rb-var" data-rb-var="NAME">``, around its text as written, so a reader sees what to
    replace and the page's script can fill it in."""
    store = HIGHLIGHTS
    if store is None:
        return _code_html(code, language, placeholders, bare)
    key = store.key(code, language, placeholders, bare)
    kept = store.cache.get(key)
    if isinstance(kept, str):
        return kept
    made = _code_html(code, language, placeholders, bare)
    store.cache.put(key, made)
    return made


@functools.lru_cache(maxsize=64)
def _lexer(language: str) -> Any:
    """One lexer per language name, reused: a Pygments lexer keeps no state between ``get_tokens`` calls, and
    finding one by name costs more than lexing a short command."""
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=True)
    except ClassNotFound:
        return get_lexer_by_name("text", stripnl=False, ensurenl=True)


@functools.lru_cache(maxsize=1)
def _formatter() -> Any:
    """The one formatter: making an ``HtmlFormatter`` builds its whole style sheet, which ``nowrap`` never uses."""
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(nowrap=True)


def _code_html(code: str, language: str, placeholders: tuple[str, ...], bare: tuple[str, ...]) -> str:
    from pygments import format as pygments_format

    from .placeholders import spans

    lexer = _lexer(language)
    # Positions are found in the text Pygments lexes (it drops a BOM and turns CR LF into LF).
    code = code.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    marks = spans(code, language, placeholders, bare) if placeholders else []
    tokens = list(lexer.get_tokens(code))
    if marks and (
        _SENTINEL_OPEN in code or _SENTINEL_CLOSE in code or not "".join(v for _, v in tokens).startswith(code)
    ):
        marks = []  # never guess: such a command is shown highlighted, unmarked
    body = pygments_format(_with_sentinels(tokens, marks), _formatter())
    if marks:
        body = _SENTINEL.sub(lambda m: _placeholder_span(code, marks[int(m.group(1))]), body)
    return f'<div class="highlight"><pre><span></span><code>{body}</code></pre></div>'


# A placeholder travels through Pygments as one plain-text token holding a sentinel (private-use characters that
# the formatter passes through unchanged and that no lexer rule can split); the sentinel then becomes its span.
_SENTINEL_OPEN, _SENTINEL_CLOSE = "\ue000", "\ue001"
_SENTINEL = re.compile(f"{_SENTINEL_OPEN}([0-9]+){_SENTINEL_CLOSE}")


def _with_sentinels(tokens: list[tuple[Any, str]], marks: list[Any]) -> list[tuple[Any, str]]:
    """The token stream with each marked range of the text replaced by one sentinel token."""
    if not marks:
        return tokens
    from pygments.token import Text

    out: list[tuple[Any, str]] = []
    position = 0
    index = 0
    for kind, value in tokens:
        end = position + len(value)
        cursor = position
        while cursor < end:
            mark = marks[index] if index < len(marks) else None
            if mark is None or mark.start >= end:
                out.append((kind, value[cursor - position :]))
                break
            if cursor < mark.start:
                out.append((kind, value[cursor - position : mark.start - position]))
                cursor = mark.start
            if cursor == mark.start:
                out.append((Text, f"{_SENTINEL_OPEN}{index}{_SENTINEL_CLOSE}"))
            # Skip the placeholder's text, which may run on into the next tokens.
            cursor = min(end, mark.end)
            if cursor == mark.end:
                index += 1
        position = end
    return out


def _placeholder_span(code: str, mark: Any) -> str:
    return f'<span class="rb-var" data-rb-var="{html_attr(mark.name)}">{html_text(code[mark.start : mark.end])}</span>'


def code_block(
    code: object, language: str = "text", placeholders: tuple[str, ...] = (), bare: tuple[str, ...] = ()
) -> str:
    """Verbatim text as a block of a generated page: it reaches the page only as a fragment, so no Markdown
    processor or plugin (snippets, includes, macros) ever sees runbook text as Markdown source. ``placeholders``
    and ``bare``: see ``code_html``."""
    return fragment(code_html(str(code), language, placeholders, bare))


def block(text: object, context: LinkContext) -> str:
    """A Markdown field as a block of a generated page."""
    return fragment(f'<div class="rb-md">{markdown_html(str(text), context)}</div>')


def bullet_list(items: Iterable[object], context: LinkContext, *, tasks: bool = False) -> str:
    """Markdown fields as one list (check boxes with ``tasks``) in a generated page."""
    rendered = [markdown_inline_html(str(item), context) for item in items]
    if not rendered:
        return ""
    if tasks:
        # The item's text is inside the label: it names the check box for assistive technology, and a click on
        # it ticks the box. The box is enabled: the page's script keeps its state; on paper it is an empty box.
        box = '<label class="task-list-control"><input type="checkbox"><span class="task-list-indicator"></span> '
        body = "".join(f'<li class="task-list-item">{box}{item}</label></li>' for item in rendered)
        return fragment(f'<div class="rb-md"><ul class="task-list">{body}</ul></div>')
    return fragment('<div class="rb-md"><ul>' + "".join(f"<li>{item}</li>" for item in rendered) + "</ul></div>")


def sanitized_attrs(attrs: dict[str, Any]) -> str:
    """Attributes for an element this module builds itself (values escaped)."""
    return "".join(f' {name}="{html_attr(value)}"' for name, value in attrs.items())
