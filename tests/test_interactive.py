"""The runbook site at 3 a.m. (issue 13): placeholders marked in commands and filled in from a form, ticks kept per
page, the alerts filter, dark mode, and axe-core's verdict on every page kind, light and dark.

The first half needs no browser: what the renderers and the allowlist produce. The second half drives Debian's
Chromium through Playwright (skipped locally without one, mandatory under CI=true) at a phone's width (390 px)
and a desktop's (1400 px), in the light and the dark scheme, with every request outside the site refused.
"""

from __future__ import annotations

import functools
import html
import importlib.resources
import json
import re
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from runbinder import safe
from runbinder.languages import highlight
from runbinder.render.runbook import page_variables
from runbinder.render.severity import badge_ink, contrast, severity_css
from runbinder.render.site import SiteRenderer
from runbinder.structure import iter_commands
from runbinder.validate import load_project

from .conftest import OPEN_SHADOW_ROOTS, ROOT, copy_site_project, mkdocs_build, serve_directory
from .hostile import MARKDOWN_PAYLOADS, PLAIN_PAYLOADS
from .test_safe import assert_inert, elements

# ------------------------------------------------------------------------------------------------ without a browser


def _marks(markup: str) -> list[tuple[str, str]]:
    """(data-rb-var, text as written) of every placeholder span."""
    return [
        (html.unescape(name), html.unescape(text))
        for name, text in re.findall(r'<span class="rb-var" data-rb-var="([^"]*)">([^<]*)</span>', markup)
    ]


def _text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


@pytest.mark.parametrize(
    ("language", "code", "names", "bare", "expected"),
    [
        ("bash", "psql -U USR -d DB -c 'select 1'", ("USR", "DB"), ("USR", "DB"), [("USR", "USR"), ("DB", "DB")]),
        ("bash", 'kubectl -n "$NS" logs ${POD} --since=${SINCE:-1h}', ("NS", "POD", "SINCE"), (),
         [("NS", "$NS"), ("POD", "${POD}"), ("SINCE", "${SINCE:-1h}")]),
        ("bash", "kill <PID> && oc rsh <pod name from above>", ("PID", "pod name from above"), (),
         [("PID", "<PID>"), ("pod name from above", "<pod name from above>")]),
        ("sql", "SELECT pg_terminate_backend(PID);", ("PID",), ("PID",), [("PID", "PID")]),
        ("json", '{"user": "{id}", "n": 1}', ("id",), (), [("id", "{id}")]),
        # Not placeholders: single-quoted shell text, a name the page does not declare, a value the command sets.
        ("bash", "echo '$NS' $OTHER; X=1; echo $X $NS", ("NS", "X"), (), [("NS", "$NS")]),
        ("bash", "echo USR_NAME USR", ("USR",), ("USR",), [("USR", "USR")]),
    ],
)  # fmt: skip
def test_placeholders_are_marked_as_written_and_the_command_is_unchanged(
    language: str, code: str, names: tuple[str, ...], bare: tuple[str, ...], expected: list[tuple[str, str]]
) -> None:
    markup = safe.code_html(code, language, names, bare)
    assert _marks(markup) == expected
    assert _text(markup) == code + "\n"
    unmarked = safe.code_html(code, language)
    assert _marks(unmarked) == []
    assert _text(unmarked) == code + "\n"


def test_a_command_holding_the_sentinel_characters_is_shown_unmarked_never_garbled() -> None:
    code = "echo \ue0000\ue001 USR"
    markup = safe.code_html(code, "bash", ("USR",), ("USR",))
    assert _marks(markup) == []
    assert _text(markup) == code + "\n"


@functools.cache
def _bundled() -> SiteRenderer:
    project = load_project(ROOT / "runbooks", None, ROOT)
    return SiteRenderer(project.index, today=date(2026, 11, 22), directory_urls=False)


def test_every_bundled_command_shows_as_written_and_every_listed_variable_fills_a_command() -> None:
    renderer = _bundled()
    marked = 0
    for rb in renderer.runbooks:
        shown, names, bare = page_variables(renderer, rb)
        filled: set[str] = set()
        for _path, command, _step in iter_commands(rb):
            for key, language in (("code", command.get("language")), ("input", command.get("input_language", "text"))):
                if not isinstance(command.get(key), str):
                    continue
                code = command[key].replace("\r\n", "\n")
                markup = safe.code_html(code, highlight(language), names, bare)
                assert _text(markup).rstrip("\n") == code.rstrip("\n"), rb["id"]
                for name, written in _marks(markup):
                    assert written in (name, f"${name}", f"${{{name}}}", f"<{name}>", f"{{{name}}}") or (
                        written.startswith(f"${{{name}") and written.endswith("}")
                    ), (rb["id"], name, written)
                    filled.add(name)
                    marked += 1
        # A field that fills nothing would be a lie on the page: each listed variable appears in some command.
        assert {str(v["name"]) for v, _ in shown} == filled, rb["id"]
    assert marked > 50


def test_the_variables_come_right_after_the_summary_with_their_descriptions_rendered() -> None:
    renderer = _bundled()
    pages = renderer.pages()
    with_variables = 0
    for rb in renderer.runbooks:
        text = safe.FRAGMENTS.inline(pages[f"runbooks/{rb['id']}.md"].markdown)
        if "{#variables}" not in text:
            assert not page_variables(renderer, rb)[0]
            continue
        with_variables += 1
        first_phase = text.index("\n## 1. ")
        assert text.index("{#summary}") < text.index("{#variables}") < first_phase, rb["id"]
        section = text[text.index("{#variables}") : first_phase]
        descriptions = re.findall(r"<dd>(.*?)</dd>", section)
        assert descriptions, rb["id"]
        assert all("`" not in d for d in descriptions), rb["id"]  # Markdown, rendered
    assert with_variables >= 10
    # A site-wide variable is offered where a runbook's commands use it; a secret says so.
    page = safe.FRAGMENTS.inline(pages["runbooks/enterprise-auth-authentication-issues.md"].markdown)
    assert '<dt class="rb-var-secret rb-var-site" data-rb-var="TWILIO_AUTH_TOKEN">' in page
    assert '<dt class="rb-var-site" data-rb-var="TWILIO_ACCOUNT_SID">' in page
    assert 'data-rb-var="POSTGRES_USER"' not in page  # declared site-wide but not used by this runbook


def test_paper_gets_no_progress_control_and_unticked_boxes() -> None:
    project = load_project(ROOT / "runbooks", None, ROOT)
    paper = SiteRenderer(project.index, today=date(2026, 11, 22), print_mode=True).pages()
    page = safe.FRAGMENTS.inline(paper["runbooks/identity-otp-database-connectivity.md"].markdown)
    assert "rb-progress" not in page
    boxes = re.findall(r"<input[^>]*>", page)
    assert boxes
    assert all("checked" not in box for box in boxes)
    assert ".rb-step}" in page


@pytest.mark.parametrize(("kind", "payload"), PLAIN_PAYLOADS + MARKDOWN_PAYLOADS)
def test_marked_commands_and_the_variables_list_stay_inert_under_the_hostile_corpus(kind: str, payload: str) -> None:
    # A name the schema allows (no markers, no newline) built from the payload, used bare and in every spelling.
    name = re.sub(r"[\s{}<>$]", "_", payload)[:60].strip("_") or "x"
    code = f"run {payload} {name} && echo <{name}> $X ${{X}} {{{name}}}\n"
    markup = safe.code_html(code, "bash", (name, "X"), (name,))
    cleaned = safe.sanitize(markup)
    assert_inert(cleaned, safe.ALLOWED_TAGS)
    # The allowlist keeps every element and attribute the marking makes, and the text stays what was written.
    assert elements(cleaned).tags == elements(markup).tags
    assert _text(cleaned) == code
    assert (name, name) in _marks(cleaned)
    assert ("X", "$X") in _marks(cleaned)

    renderer = _bundled()
    variable = {"name": name, "description": payload, "example": payload, "secret": True}
    from runbinder.render.runbook import variables_section

    section = safe.FRAGMENTS.inline(variables_section(renderer, [(variable, True)], "runbooks/x.md"))
    assert_inert(section)
    tags = elements(section).tags
    assert ("dt", {"class": "rb-var-secret rb-var-site", "data-rb-var": name}) in tags
    assert not any(attrs.get("data-rb-var") not in (None, name) for _, attrs in tags)


def test_the_allowlist_keeps_the_page_hooks_only_where_they_belong() -> None:
    cleaned = safe.sanitize(
        '<span class="rb-var evil" data-rb-var="A" onclick="x" data-x="y">a</span>'
        '<div class="rb-vars rb-progress rb-filter md-button" data-rb-var="B">b</div>'
        '<dt class="rb-var-secret rb-var-site mermaid" data-rb-var="C" style="x">c</dt>'
        '<a href="#x" class="rb-var" data-rb-var="D">d</a><code data-rb-var="E">e</code>'
    )
    assert cleaned == (
        '<span class="rb-var" data-rb-var="A">a</span><div class="rb-vars rb-progress rb-filter">b</div>'
        '<dt class="rb-var-secret rb-var-site" data-rb-var="C">c</dt><a href="#x" rel="noopener noreferrer">d</a>'
        "<code>e</code>"
    )


def test_badge_ink_keeps_wcag_contrast_for_every_colour() -> None:
    colours = [
        f"#{r:02x}{g:02x}{b:02x}" for r in range(0, 256, 17) for g in range(0, 256, 17) for b in range(0, 256, 17)
    ]
    bundled = [e.data["color"] for e in load_project(ROOT / "runbooks", None, ROOT).index["severities"].values()]
    for colour in colours + bundled:
        assert contrast(colour, badge_ink(colour)) >= 4.5, colour
    css = severity_css([{"id": "sev2", "color": "#e65100"}, {"id": "x", "color": "#ffeb3b"}])
    for colour, ink in re.findall(r"background: (#[0-9a-fA-F]{6}); color: (#[0-9a-fA-F]{6})", css):
        assert contrast(colour, ink) >= 4.5
    assert len(re.findall(r"background:", css)) == 2


def test_the_site_and_the_scaffold_follow_the_system_scheme_with_a_toggle() -> None:
    import yaml

    for path in (ROOT / "mkdocs.yml", ROOT / "plugins" / "runbinder" / "scaffold" / "mkdocs.yml"):
        loader = yaml.SafeLoader
        config = yaml.load(re.sub(r"!!python/name:\S+", "null", path.read_text(encoding="utf-8")), Loader=loader)
        palette = config["theme"]["palette"]
        media = [p.get("media") for p in palette]
        assert media == ["(prefers-color-scheme)", "(prefers-color-scheme: light)", "(prefers-color-scheme: dark)"]
        assert [p.get("scheme") for p in palette[1:]] == ["default", "slate"]
        assert all(p.get("toggle", {}).get("name") for p in palette), path


# ------------------------------------------------------------------------------------------------ in Chromium

SHARED_PAGE = """# Gather the logs

Collect the logs of every pod before restarting anything.

## With the CLI

Run `oc adm must-gather` and attach the archive to the ticket.
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled site with a shared page (pages/), built once for this module with --strict."""
    project = copy_site_project(tmp_path_factory.mktemp("interactive-site"))
    (project / "runbooks" / "pages").mkdir()
    (project / "runbooks" / "pages" / "gather-logs.md").write_text(SHARED_PAGE, encoding="utf-8")
    result = mkdocs_build(project, "--strict")
    assert result.returncode == 0, result.stderr
    assert (project / "site" / "pages" / "gather-logs.html").is_file()
    return project / "site"


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    with serve_directory(site) as url:
        yield url


class Tab:
    """A page in its own browser context (width, scheme, clipboard), blocking and recording every request that
    leaves ``allowed`` and collecting console errors."""

    def __init__(self, browser: Any, allowed: str, width: int = 1400, scheme: str = "light", **options: Any) -> None:
        self.context = browser.new_context(
            viewport={"width": width, "height": 844 if width < 600 else 900}, color_scheme=scheme, **options
        )
        self.page = self.context.new_page()
        self.external: list[str] = []
        self.errors: list[str] = []
        self.page.add_init_script(OPEN_SHADOW_ROOTS)
        self.page.route("**/*", self._route(allowed))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _route(self, allowed: str) -> Any:
        def handle(route: Any) -> None:
            url = route.request.url
            if url.startswith(allowed) or url.startswith(("data:", "blob:")):
                route.continue_()
            else:
                self.external.append(url)
                route.abort()

        return handle

    def clean(self) -> None:
        assert self.errors == []
        assert self.external == []


@pytest.fixture
def tab(browser: Any) -> Iterator[Any]:
    opened: list[Tab] = []

    def open_tab(allowed: str, **options: Any) -> Tab:
        opened.append(Tab(browser, allowed, **options))
        return opened[-1]

    yield open_tab
    for item in opened:
        item.context.close()


def _storage(page: Any) -> dict[str, str]:
    return dict(page.evaluate("() => Object.fromEntries(Object.entries(localStorage))"))


def _copy(page: Any, block: Any) -> str:
    """Click a code block's copy button (Material's) and read the clipboard back."""
    block.hover()
    block.locator("button[data-md-type=copy]").click()
    return str(page.evaluate("navigator.clipboard.readText()"))


DB_PAGE = "runbooks/identity-otp-database-connectivity.html"


@pytest.mark.parametrize("width", [390, 1400])
def test_a_value_typed_once_fills_every_command_and_the_copy_button_copies_it(
    tab: Any, server: str, width: int
) -> None:
    t = tab(server, width=width, permissions=["clipboard-read", "clipboard-write"])
    page = t.page
    page.goto(f"{server}/{DB_PAGE}")
    users = page.locator("article code .rb-var[data-rb-var='USR']")
    assert users.count() >= 2
    assert set(users.all_inner_texts()) == {"USR"}
    field = page.get_by_label("USR", exact=True)
    assert field.is_visible()
    # Before the first step (it used to be a table after the last one, 8,000 px down).
    assert field.bounding_box()["y"] < page.locator("article .rb-step").first.bounding_box()["y"]
    field.fill("rb_user_7")
    assert set(users.all_inner_texts()) == {"rb_user_7"}
    assert all("rb-filled" in (c or "") for c in [users.nth(i).get_attribute("class") for i in range(users.count())])
    assert set(page.locator("article code .rb-var[data-rb-var='DB']").all_inner_texts()) == {"DB"}  # not yet

    block = page.locator("div.highlight", has=page.locator(".rb-var[data-rb-var='USR']")).first
    copied = _copy(page, block)
    assert "rb_user_7" in copied
    assert not re.search(r"\bUSR\b", copied)
    assert copied == block.locator("code").inner_text().rstrip()

    page.reload()
    assert page.get_by_label("USR", exact=True).input_value() == "rb_user_7"
    assert set(page.locator("article code .rb-var[data-rb-var='USR']").all_inner_texts()) == {"rb_user_7"}
    assert any("rb_user_7" in value for value in _storage(page).values())
    page.get_by_role("button", name="Clear values").click()
    assert set(page.locator("article code .rb-var[data-rb-var='USR']").all_inner_texts()) == {"USR"}
    assert not any("rb_user_7" in value for value in _storage(page).values())
    t.clean()


def test_a_value_a_shell_would_split_is_flagged_next_to_its_field(tab: Any, server: str) -> None:
    """Values are filled in as typed (the command may quote the placeholder itself): a space or a shell character
    in one is said next to the field, before anyone copies the command."""
    t = tab(server, width=390)
    page = t.page
    page.goto(f"{server}/{DB_PAGE}")
    field = page.get_by_label("USR", exact=True)
    warning = page.locator("dt", has=field).locator(".rb-var-warn")
    assert not warning.is_visible()
    for value in ("rb user", "rb;rm -rf /", "$(id)", "a'b", "x|y"):
        field.fill(value)
        assert warning.is_visible(), value
        assert "check how the command quotes it" in warning.inner_text()
    for value in ("rb_user-7", "db.example.com:5432", "user@host", "a/b=c,d%2B", ""):
        field.fill(value)
        assert not warning.is_visible(), value
    t.clean()


def test_a_secret_is_dots_on_screen_copied_on_click_and_never_stored(tab: Any, server: str) -> None:
    t = tab(server, permissions=["clipboard-read", "clipboard-write"])
    page = t.page
    page.goto(f"{server}/runbooks/enterprise-auth-authentication-issues.html")
    field = page.get_by_label("TWILIO_AUTH_TOKEN", exact=True)
    assert field.get_attribute("type") == "password"
    field.fill("tok-RBSECRET-1")
    page.get_by_label("TWILIO_ACCOUNT_SID", exact=True).fill("AC-rb-sid")
    marks = page.locator("article code .rb-var[data-rb-var='TWILIO_AUTH_TOKEN']")
    assert marks.count() >= 1
    assert "tok-RBSECRET-1" not in page.locator("article").inner_text()
    block = page.locator("div.highlight", has=page.locator(".rb-var[data-rb-var='TWILIO_AUTH_TOKEN']")).first
    copied = _copy(page, block)
    assert "AC-rb-sid:tok-RBSECRET-1" in copied
    assert "RBSECRET" not in json.dumps(_storage(page))
    assert "AC-rb-sid" in json.dumps(_storage(page))  # the site-wide one is kept
    page.reload()
    assert page.get_by_label("TWILIO_AUTH_TOKEN", exact=True).input_value() == ""
    assert set(marks.all_inner_texts()) == {"$TWILIO_AUTH_TOKEN"}
    t.clean()


def test_a_site_wide_value_fills_every_runbook_that_uses_it(tab: Any, server: str) -> None:
    t = tab(server)
    page = t.page
    page.goto(f"{server}/runbooks/enterprise-auth-database-issues.html")
    page.get_by_label("POSTGRES_USER", exact=True).fill("rb_pg")
    page.goto(f"{server}/runbooks/enterprise-auth-database-maintenance.html")
    assert page.get_by_label("POSTGRES_USER", exact=True).input_value() == "rb_pg"
    marks = page.locator("article code .rb-var[data-rb-var='POSTGRES_USER']")
    assert marks.count() >= 1
    assert set(marks.all_inner_texts()) == {"rb_pg"}
    t.clean()


@pytest.mark.parametrize("width", [390, 1400])
def test_ticks_survive_a_reload_until_reset(tab: Any, server: str, width: int) -> None:
    t = tab(server, width=width)
    page = t.page
    page.goto(f"{server}/{DB_PAGE}")
    boxes = page.locator("article input[type=checkbox]")
    names = page.evaluate(
        """() => [...document.querySelectorAll('article input[type=checkbox]')].map(b =>
            b.getAttribute('aria-label') || [...b.labels].map(l => l.textContent).join(' ').trim())"""
    )
    assert len(names) == boxes.count() > 10
    assert all(names), names  # every box has an accessible name
    status = page.locator(".rb-progress-status")
    assert "Started at" not in status.inner_text()
    step = page.get_by_role("checkbox", name=re.compile(r"^Step done: 1\.1 "))
    step.check()
    item = page.locator("article .task-list-item").nth(2)
    item.locator("label").click(position={"x": 40, "y": 5})  # a click on the item's text ticks it
    assert item.locator("input").is_checked()
    assert "Started at" in status.inner_text()
    nxt = page.locator("a.rb-progress-next")
    assert nxt.inner_text().startswith("Next step: 1.2 ")

    page.reload()
    assert page.get_by_role("checkbox", name=re.compile(r"^Step done: 1\.1 ")).is_checked()
    assert page.locator("article .task-list-item").nth(2).locator("input").is_checked()
    assert page.locator("article input[type=checkbox]:checked").count() == 2
    assert "Started at" in page.locator(".rb-progress-status").inner_text()

    page.get_by_role("button", name="Reset ticks").click()
    page.get_by_role("button", name="Yes, clear all ticks").click()
    assert page.locator("article input[type=checkbox]:checked").count() == 0
    page.reload()
    assert page.locator("article input[type=checkbox]:checked").count() == 0
    assert not any(key.endswith("|ticks") for key in _storage(page))
    t.clean()


@pytest.mark.parametrize("width", [390, 1400])
def test_the_alerts_index_filters_by_part_of_a_name(tab: Any, server: str, width: int) -> None:
    t = tab(server, width=width)
    page = t.page
    page.goto(f"{server}/alerts.html")
    headings = page.locator("article h2.rb-alert")
    total = headings.count()
    assert total > 5
    names = headings.all_inner_texts()
    word = "database"
    expected = [n for n in names if word in n.lower()]
    assert 0 < len(expected) < total
    box = page.get_by_label("Filter alerts by name")
    assert box.bounding_box()["x"] + box.bounding_box()["width"] <= width  # on screen on a phone too
    box.fill("DataBase")
    visible = page.locator("article h2.rb-alert:visible")
    assert visible.all_inner_texts() == expected
    assert page.locator(".rb-filter-count").inner_text() == f"{len(expected)} of {total} alerts match."
    # Each alert keeps its permanent address, and the rest of its entry hides with its heading.
    first_hidden = page.locator("article h2.rb-alert:not(:visible)").first
    assert (first_hidden.get_attribute("id") or "").startswith("alert-")
    box.press("Escape")
    assert page.locator("article h2.rb-alert:visible").count() == total
    t.clean()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_scheme_follows_the_system_and_the_toggle_switches_it(tab: Any, server: str, scheme: str) -> None:
    t = tab(server, scheme=scheme)
    page = t.page
    page.goto(f"{server}/index.html")
    current = page.evaluate("document.body.getAttribute('data-md-color-scheme')")
    assert current == ("slate" if scheme == "dark" else "default")
    # The toggle goes round: system setting, light, dark. Both schemes come up within one round.
    seen = {current}
    for _ in range(3):
        page.locator("form[data-md-component=palette] label:visible").first.click()
        seen.add(page.evaluate("document.body.getAttribute('data-md-color-scheme')"))
    assert seen == {"default", "slate"}
    t.clean()


def test_without_javascript_every_placeholder_is_still_marked(browser: Any, server: str) -> None:
    t = Tab(browser, server, java_script_enabled=False)
    try:
        t.page.goto(f"{server}/{DB_PAGE}")
        marks = t.page.locator("article code .rb-var")
        assert marks.count() >= 5
        assert marks.first.evaluate("m => getComputedStyle(m).outlineStyle") == "dashed"
        assert t.page.locator(".rb-vars dt").all_inner_texts() == ["USR", "DB"]
        assert t.page.locator(".rb-var-input").count() == 0
    finally:
        t.context.close()


def test_values_and_ticks_are_kept_from_file_urls(tab: Any, site: Path) -> None:
    t = tab("file://")
    page = t.page
    page.goto((site / DB_PAGE).as_uri())
    page.get_by_label("DB", exact=True).fill("rb_db")
    page.get_by_role("checkbox", name=re.compile(r"^Step done: 1\.1 ")).check()
    page.reload()
    assert page.get_by_label("DB", exact=True).input_value() == "rb_db"
    assert page.get_by_role("checkbox", name=re.compile(r"^Step done: 1\.1 ")).is_checked()
    assert set(page.locator("article code .rb-var[data-rb-var='DB']").all_inner_texts()) == {"rb_db"}
    assert [e for e in t.errors if "favicon" not in e] == []
    assert t.external == []


# ------------------------------------------------------------------------------------------------ axe-core

AXE = (importlib.resources.files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")
"""axe-core from the pinned axe-playwright-python wheel (constraints.txt): no download at test time."""

PAGE_KINDS = {
    "home": "index.html",
    "severity": "severity.html",
    "escalation": "escalation.html",
    "contacts": "contacts.html",
    "services": "services/index.html",
    "service": "services/authos-api.html",
    "runbook": DB_PAGE,
    "runbook-secrets": "runbooks/enterprise-auth-authentication-issues.html",
    "alerts": "alerts.html",
    "tags": "tags.html",
    "schema": "reference/schema.html",
    "shared": "pages/gather-logs.html",
    "checklists": "checklists.html",
    "templates": "templates.html",
}

RUN_AXE = """async () => {
  const result = await axe.run(document.querySelector('article.md-content__inner'), {resultTypes: ['violations']});
  return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '));
}"""


def _settle(page: Any) -> None:
    """Wait until every diagram has been drawn (axe then sees the page a reader sees)."""
    page.wait_for_function(
        """() => document.querySelectorAll('pre.mermaid').length === 0 && [...document.querySelectorAll('div.mermaid')]
            .every(d => d.shadowRoot && d.shadowRoot.querySelector('svg'))""",
        timeout=30_000,
    )
    # Two frames: the page's script looks at boxes that scroll in the frame after they change.
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))")


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("kind", sorted(PAGE_KINDS))
def test_axe_finds_no_serious_or_critical_violation_in_page_content(
    tab: Any, server: str, kind: str, scheme: str
) -> None:
    t = tab(server, scheme=scheme, width=390 if kind == "runbook" else 1400)
    page = t.page
    page.goto(f"{server}/{PAGE_KINDS[kind]}")
    _settle(page)
    if kind.startswith("runbook"):  # the page in use: values typed, steps and items ticked
        for field in page.locator(".rb-var-input").all():
            field.fill("value 1")  # with a space: the warning under the field is shown and checked too
        page.locator(".rb-step-box").first.check()
        items = page.locator("article .task-list-item input")
        if items.count():
            items.first.check(force=True)
    if kind == "alerts":
        page.get_by_label("Filter alerts by name").fill("a")
    page.evaluate(AXE)
    assert page.evaluate(RUN_AXE) == []
    t.clean()


def test_the_axe_harness_finds_what_it_should(tab: Any, server: str, site: Path, tmp_path: Path) -> None:
    """The harness is not blind: a page with a known contrast failure and an unlabelled box is reported."""
    broken = site / "axe-probe.html"
    shutil.copy2(site / "tags.html", broken)
    text = broken.read_text(encoding="utf-8")
    probe = '<p style="color:#777;background:#888">low contrast</p><input type="checkbox">'
    broken.write_text(text.replace("<h1", probe + "<h1", 1), encoding="utf-8")
    try:
        t = tab(server)
        t.page.goto(f"{server}/axe-probe.html")
        t.page.evaluate(AXE)
        found = " ".join(t.page.evaluate(RUN_AXE))
        assert "color-contrast" in found
        assert "label" in found
    finally:
        broken.unlink()
