"""What every page renderer shares: the project's data in reading order, links between things, backlinks, badges.

Page modules (``home``, ``severity``, ``escalation``, ``contacts``, ``services``, ``runbook``, ``lists``,
``templates``, ``tools``, ``checklists``) are functions of a ``Renderer``; they decide layout only. Text reaches
their Markdown through the doors in ``runbinder.safe``.
"""

from __future__ import annotations

import functools
import hashlib
import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .. import oncall, safe, urls
from ..schemas import markdown_fields, markdown_tree
from ..sitemap import PAGES, page_paths, runbook_page, service_page
from ..validate import Index
from .blocks import duration

Data = dict[str, Any]

KIND_TITLES = {
    "alert-response": "Alert response",
    "incident-procedure": "Incident procedure",
    "troubleshooting": "Troubleshooting",
    "maintenance": "Maintenance",
    "deployment": "Deployment",
    "process": "Process",
}
METHOD_TITLES = {
    "page": "Page",
    "phone": "Phone call",
    "chat": "Chat",
    "email": "E-mail",
    "ticket": "Ticket",
    "support-ticket": "Support ticket",
    "video": "Video call",
}
_PAGE_LINK = re.compile(r"\]\(\s*<?(pages/[^)#\s>]+\.md)")
METHOD_LABELS = {"email": "E-mail", "phone": "Phone", "chat": "Chat", "pager": "Pager", "url": "Web"}


@dataclass(frozen=True)
class Ref:
    """Something that links to a target: its label and the page (and anchor) it is on."""

    label: str
    page: str
    anchor: str = ""


@dataclass
class Renderer:
    """The project's data for rendering, and the links between its things.

    ``directory_urls`` is MkDocs' ``use_directory_urls`` for links inside Markdown fields; None writes them as
    ``.md`` paths (the binder maps those to its own sections). ``print_mode`` renders for paper (the binder and
    print.html): nothing folded away."""

    index: Index
    today: date
    directory_urls: bool | None = None
    docs_pages: frozenset[str] = frozenset()
    print_mode: bool = False
    backlinks: dict[tuple[str, str], list[Ref]] = field(default_factory=lambda: defaultdict(list))
    reads: list[tuple[Any, ...]] | None = field(default=None, init=False, repr=False)
    """While a runbook's page is rendered for a memo: what it read of other runbooks, each entry checked by ``still``
    at the next build."""
    _digests: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.site: Data = self.index.site.data if self.index.site else {}
        self.known_pages = page_paths(self.index) | self.docs_pages
        self._runbooks: list[Data] = sorted(
            (e.data for e in self.index.runbooks.values()),
            key=lambda r: (str(r.get("service")), _order(r.get("order")), str(r.get("title")).lower()),
        )
        self.by_service: dict[str, list[Data]] = defaultdict(list)
        for runbook in self._runbooks:
            self.by_service[runbook["service"]].append(runbook)
        shared = self.index.derived.get("backlinks")
        if self.backlinks:  # given some to start from: this renderer's own
            self._collect_backlinks()
        elif shared is None:
            self._collect_backlinks()
            self.index.derived["backlinks"] = self.backlinks
        else:
            self.backlinks = shared  # the same for every renderer of this index: only read from here on

    @property
    def runbooks(self) -> list[Data]:
        """Every runbook, in reading order (a page that reads them all depends on every runbook)."""
        if self.reads is not None:
            self.reads.append(("all", self.runbooks_digest()))
        return self._runbooks

    # ------------------------------------------------------------------ what a page depends on

    def context_digest(self) -> str:
        """Everything a runbook's page may show besides its own runbook and what it reads of other runbooks: the
        date, the link style, the pages links may name, and every document that defines catalog entries or the
        site's settings and variables."""
        if self._digests.get("context"):
            return self._digests["context"]
        digest = hashlib.sha256()
        entries = [e for table in self.index.tables.values() for e in table.values()]
        entries += list(self.index.site_variables.values()) + ([self.index.site] if self.index.site else [])
        docs = sorted({(e.doc.display, e.doc.digest) for e in entries})
        for part in (
            self.today.isoformat(),
            repr((self.directory_urls, self.print_mode)),
            *sorted(self.known_pages),
            *(f"{display}\0{digest}" for display, digest in docs),
            *(f"{path}\0{source}" for path, source in sorted(self.index.files.items())),
        ):
            digest.update(part.encode("utf-8", errors="surrogatepass") + b"\n")
        self._digests["context"] = digest.hexdigest()
        return self._digests["context"]

    def runbooks_digest(self) -> str:
        """A digest of every runbook's file."""
        if self._digests.get("runbooks"):
            return self._digests["runbooks"]
        digest = hashlib.sha256()
        for ident, entry in sorted(self.index.runbooks.items()):
            digest.update(f"{ident}\0{entry.doc.display}\0{entry.doc.digest}\n".encode("utf-8", "surrogatepass"))
        self._digests["runbooks"] = digest.hexdigest()
        return self._digests["runbooks"]

    def still(self, read: tuple[Any, ...]) -> bool:
        """Whether what a page read (an entry of ``reads``) reads the same now."""
        if read[0] == "target":
            return bool(self.target("runbook", read[1]) == read[2])
        if read[0] == "refs":
            return bool(_refs(self.backlinks.get((read[1], read[2]), [])) == read[3])
        return bool(read[0] == "all" and self.runbooks_digest() == read[1])

    # ------------------------------------------------------------------ Markdown fields

    def context(self, here: str) -> safe.LinkContext:
        """Where a Markdown field is shown, for its relative links."""
        return safe.LinkContext(here, self.directory_urls)

    def md(self, text: object, here: str) -> str:
        """A Markdown field as a block of page ``here``."""
        return safe.block(text, self.context(here))

    def md_list(self, items: Iterable[object], here: str, *, tasks: bool = False) -> str:
        """Markdown fields as a bulleted list (or check boxes) on page ``here``."""
        return safe.bullet_list(items, self.context(here), tasks=tasks)

    # ------------------------------------------------------------------ targets and links

    def table(self, section: str) -> dict[str, Data]:
        """A catalog section's entries by id."""
        return {k: e.data for k, e in self.index[section].items()}

    def target(self, kind: str, ident: str) -> tuple[str, str, str] | None:
        """(page, anchor, plain label) of a referenced thing, or None if it does not exist."""
        if kind == "runbook":
            rb = self.index.runbooks.get(ident)
            found = (runbook_page(ident), "", str(rb.data["title"])) if rb else None
            if self.reads is not None:
                self.reads.append(("target", ident, found))
            return found
        if kind == "service":
            svc = self.index["services"].get(ident)
            return (service_page(ident), "", str(svc.data["name"])) if svc else None
        if kind == "tag":
            return (PAGES["tags"], f"tag-{ident}", ident)
        section, page, name_key = {
            "contact": ("contacts", PAGES["contacts"], "name"),
            "role": ("roles", PAGES["roles"], "name"),
            "severity": ("severities", PAGES["severity"], "name"),
            "policy": ("escalation_policies", PAGES["escalation"], "name"),
            "tool": ("tools", PAGES["tools"], "name"),
            "template": ("templates", PAGES["templates"], "name"),
            "checklist": ("checklists", PAGES["checklists"], "title"),
        }[kind]
        entry = self.index[section].get(ident)
        if entry is None:
            return None
        name = self.severity_label(entry.data) if kind == "severity" else str(entry.data[name_key])
        return (page, f"{kind}-{ident}", name)

    def link(self, kind: str, ident: str, here: str, html: bool = False) -> str:
        """A Markdown link from page ``here`` to a thing; plain text when it does not exist. ``html``: as HTML, for
        tables built as HTML (``blocks.html_table``)."""
        found = self.target(kind, ident)
        if found is None:
            return safe.html_text(ident) if html else safe.md_text(ident)
        page, anchor, name = found
        if html:
            href = self.context(here).href(page + ("#" + anchor if anchor else ""))
            return f'<a href="{safe.html_attr(href)}">{safe.html_text(name)}</a>'
        return f"[{safe.md_text(name)}]({rel(here, page)}{'#' + anchor if anchor else ''})"

    def link_html(self, kind: str, ident: str, here: str) -> str:
        """``link`` as HTML."""
        return self.link(kind, ident, here, html=True)

    def badge_html(self, ident: str | None, here: str) -> str:
        """``badge`` as HTML: ``span.rb-sev`` naming its level in ``data-rb-sev`` (severity.css colours it)."""
        level = self._level(ident)
        if level is None:
            return "not set"
        label, key = level
        href = self.context(here).href(f"{PAGES['severity']}#severity-{key}")
        text = safe.html_text(label)
        return f'<a href="{safe.html_attr(href)}"><span class="rb-sev" data-rb-sev="{key}">{text}</span></a>'

    def recipient(self, ident: str, here: str, html: bool = False) -> str:
        """Who to escalate to, with their first contact method, so nobody has to look it up mid-incident. ``html``:
        as HTML (``link``)."""
        if ident in self.index["roles"]:
            return self.link("role", ident, here, html)
        link = self.link("contact", ident, here, html)
        entry = self.index["contacts"].get(ident)
        methods = entry.data.get("methods", []) if entry else []
        return f"{link} ({contact_value(methods[0], html)})" if methods else link

    def call(self, call: oncall.Call, here: str, html: bool = False) -> str:
        """One call of a who-to-call answer: whom (with how to reach them) and the level's method."""
        who = ", ".join(self.recipient(ident, here, html) for ident in call.to)
        level = call.level or {}
        how = METHOD_TITLES.get(str(level.get("method", "")), "")
        if level.get("via"):
            via = self.link("tool", level["via"], here, html)
            how = f"{how} via {via}" if how else via
        if not how or how.lower() in who.lower():  # "Lead (Phone call)" needs no ", phone call"
            return who
        return f"{who}, {how[:1].lower() + how[1:]}"

    def calls(
        self, calls: Iterable[oncall.Call], here: str, *, timed: bool = False, inline: bool = False, html: bool = False
    ) -> str:
        """Calls for a table cell (or, ``inline``, a sentence), in order; ``timed`` says after how long each is
        made."""
        out = []
        text_of = safe.html_text if html else safe.md_text
        for call in calls:
            text = self.call(call, here, html)
            if timed and call.after:
                text = f"after {text_of(duration(call.after))}: {text}"
            out.append(text)
        if inline:
            return "; ".join(out)
        if len(out) < 2:
            return "".join(out)
        return "<br>".join(f"{n}. {text}" if timed else f"• {text}" for n, text in enumerate(out, 1))

    @staticmethod
    def severity_label(severity: Data) -> str:
        """``SEV1 Critical``: the level's id and name."""
        return f"{str(severity['id']).upper()} {severity['name']}"

    def badge(self, ident: str | None, here: str) -> str:
        """A severity badge that reads in black and white: the colour is decoration, the text says the level."""
        level = self._level(ident)
        if level is None:
            return "not set"
        label, key = level
        page = rel(here, PAGES["severity"])
        return f'[<span class="rb-sev rb-sev-{key}">{safe.md_text(label)}</span>]({page}#severity-{key})'

    def _level(self, ident: str | None) -> tuple[str, str] | None:
        """(label, CSS key) of a severity level, or None when there is none by that id."""
        if not ident or ident not in self.index["severities"]:
            return None
        return self.severity_label(self.index["severities"][ident].data), safe.css_ident(ident)

    def links(self, links: Iterable[Data], here: str) -> str:
        """A list of links written in the YAML, with their descriptions (Markdown)."""
        context = self.context(here)
        items = []
        for link in links:
            url = str(link["url"])
            label = safe.html_text(link["title"])
            if urls.is_web_url(url) or (urls.is_safe(url) and urls.scheme(url) in ("mailto", "tel")):
                shown = f'<a href="{safe.html_attr(url)}">{label}</a>'
            elif urls.scheme(url) is None and url.partition("#")[0] in self.known_pages:
                shown = f'<a href="{safe.html_attr(context.href(url))}">{label}</a>'
            else:
                shown = f"{label}: <code>{safe.html_text(url)}</code>"
            if link.get("description"):
                shown += ": " + safe.markdown_inline_html(str(link["description"]), context)
            items.append(f"<li>{shown}</li>")
        return safe.fragment('<div class="rb-md"><ul>' + "".join(items) + "</ul></div>") if items else ""

    # ------------------------------------------------------------------ backlinks

    def _collect_backlinks(self) -> None:
        # Each link once, in the order first met (a set answers "already there?": a list search made collecting
        # quadratic in a thing's backlinks, 0.3 s at 1,000 runbooks).
        seen: set[tuple[str, str, Ref]] = set()
        links: dict[int, tuple[Data, tuple[str, ...]]] = {}

        def add(kind: str, ident: Any, ref: Ref) -> None:
            if isinstance(ident, str) and (kind, ident, ref) not in seen:
                seen.add((kind, ident, ref))
                self.backlinks[(kind, ident)].append(ref)

        for rb in self._runbooks:
            ref = Ref(str(rb["title"]), runbook_page(rb["id"]))
            add("service", rb.get("service"), ref)
            add("contact", rb.get("owner"), ref)
            add("severity", rb.get("severity"), ref)
            escalation = rb.get("escalation") or {}
            add("policy", escalation.get("policy"), ref)
            for level in escalation.get("levels", []):
                for who in level.get("to", []):
                    add("role" if who in self.index["roles"] else "contact", who, ref)
                add("tool", level.get("via"), ref)
            for other in rb.get("related", []):
                add("runbook", other, ref)
            for ident in rb.get("include_checklists", []):
                add("checklist", ident, ref)
            for phase in rb.get("phases", []):
                for step in phase.get("steps", []):
                    add("runbook", step.get("runbook"), ref)
            for tag in rb.get("tags", []):
                add("tag", tag, ref)
            for page in _page_links(rb, links):
                add("page", page, ref)
        _PAGE_LINKS.clear()  # only this project's runbooks: the data of edited files is let go
        _PAGE_LINKS.update(links)
        for sid, svc in self.table("services").items():
            ref = Ref(str(svc["name"]), service_page(sid))
            add("contact", svc.get("owner"), ref)
            add("policy", svc.get("escalation_policy"), ref)
            for dep in svc.get("dependencies", []):
                add("service", dep, ref)
            for level in svc.get("severity_scale", []):
                add("severity", level.get("level"), ref)
        for pid, policy in self.table("escalation_policies").items():
            ref = Ref(str(policy["name"]), PAGES["escalation"], f"policy-{pid}")
            for level in policy.get("levels", []):
                for who in level.get("to", []):
                    add("role" if who in self.index["roles"] else "contact", who, ref)
                add("tool", level.get("via"), ref)
        for rid, role in self.table("roles").items():
            ref = Ref(str(role["name"]), PAGES["roles"], f"role-{rid}")
            for who in role.get("filled_by", []):
                add("contact", who, ref)
        for cid, contact in self.table("contacts").items():
            ref = Ref(str(contact["name"]), PAGES["contacts"], f"contact-{cid}")
            for who in contact.get("members", []):
                add("contact", who, ref)

    def referenced_by(self, kind: str, ident: str, here: str, level: int = 2, anchor: str | None = None) -> str:
        """A "Referenced by" section listing every thing that links to this one."""
        refs = self.backlinks.get((kind, ident), [])
        if self.reads is not None:
            self.reads.append(("refs", kind, ident, _refs(refs)))
        if not refs:
            return ""
        items = sorted(refs, key=lambda r: r.label.lower())
        heading = f"{'#' * level} Referenced by" + (f" {{#{anchor}}}" if anchor else "")
        targets = [(r.label, r.page + ("#" + r.anchor if r.anchor else "")) for r in items]
        return heading + "\n\n" + self.link_list(targets, here)

    def link_list(self, links: Iterable[tuple[str, str]], here: str) -> str:
        """(plain label, site path of a page with its #anchor) as a list of links on page ``here``. Built as HTML,
        not Markdown: such lists run to a thousand entries on a large site's pages (backlinks, tags), where
        Python-Markdown's inline processing of each link was most of a rebuild's time."""
        context = self.context(here)
        items = "".join(
            f'<li><a href="{safe.html_attr(context.href(target))}">{safe.html_text(label)}</a></li>'
            for label, target in links
        )
        return safe.fragment(f"<ul>{items}</ul>") if items else ""


def _refs(refs: Iterable[Ref]) -> tuple[tuple[str, str, str], ...]:
    return tuple((r.label, r.page, r.anchor) for r in refs)


def _order(value: object) -> int:
    """A runbook's place among its service's runbooks: its ``order``, else after every ordered one."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 1_000_000


_DIALABLE = re.compile(r"\+?[0-9][0-9 ().-]{3,28}[0-9]")


def contact_value(method: Data, html: bool = False) -> str:
    """A contact method's value for a page: e-mail addresses and web addresses as links, phone and pager numbers
    as ``tel:`` links (one tap on a phone), the rest as text. ``html``: as HTML."""
    value = str(method["value"])
    url = None
    if method["type"] == "email" and "@" in value and " " not in value:
        url = "mailto:" + value
    elif method["type"] in ("phone", "pager") and _DIALABLE.fullmatch(value.strip()):
        value = value.strip()
        url = "tel:" + "".join(ch for ch in value if ch.isdigit() or ch == "+")
    elif method["type"] == "url" and urls.is_web_url(value):
        url = value
    if html:
        return f'<a href="{safe.html_attr(url)}">{safe.html_text(value)}</a>' if url else safe.html_text(value)
    return f"[{safe.md_text(value)}]({safe.md_url(url)})" if url else safe.md_text(value)


def rel(here: str, target: str) -> str:
    """Relative link from one docs page to another (MkDocs resolves .md links)."""
    return _relative(posixpath.dirname(here), target)


@functools.lru_cache(maxsize=1 << 16)  # pages live in a few folders: the same pairs recur on every page
def _relative(folder: str, target: str) -> str:
    return posixpath.relpath(target, folder or ".")


# The shared pages each runbook's Markdown links to, by the identity of its loaded data. Under `mkdocs serve` a file
# whose bytes did not change keeps its data object from one rebuild to the next (loader), and walking every Markdown
# field of 1,000 runbooks again cost each rebuild 0.1 s. Each entry holds its data, so an id is never reused for
# other data while it is here.
_PAGE_LINKS: dict[int, tuple[Data, tuple[str, ...]]] = {}


def _page_links(rb: Data, now: dict[int, tuple[Data, tuple[str, ...]]]) -> tuple[str, ...]:
    """The shared pages runbook ``rb`` links to (``pages/...``), remembered in ``now``."""
    known = _PAGE_LINKS.get(id(rb))
    if known is None or known[0] is not rb:
        found = [
            match.group(1)
            for _path, text in markdown_fields(rb, markdown_tree("runbook"))
            if "pages/" in text
            for match in _PAGE_LINK.finditer(text)
        ]
        known = (rb, tuple(found))
    now[id(rb)] = known
    return known[1]
