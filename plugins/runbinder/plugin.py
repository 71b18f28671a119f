"""The MkDocs plugin: MkDocs events only; loading, checking and rendering live in the core.

The runbooks are validated in ``on_config``, before MkDocs cleans ``site_dir``
(it does so right after ``on_pre_build``), so a broken runbook stops the build
with located diagnostics and the last good site stays in place.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from mkdocs.config import config_options as c
from mkdocs.config.base import Config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.livereload import LiveReloadServer
from mkdocs.plugins import BasePlugin, event_priority, get_plugin_logger
from mkdocs.structure.files import File, Files

from .render.site import SiteRenderer, severity_css
from .validate import Project, load_project

log = get_plugin_logger(__name__)

ASSETS = Path(__file__).parent / "assets"
MERMAID_JS = "assets/runbinder/mermaid.min.js"
IFRAME_WORKER_JS = "assets/runbinder/iframe-worker-shim.js"
STYLESHEET = "assets/runbinder/runbinder.css"
SEVERITY_CSS = "assets/runbinder/severity.css"


class RunbinderConfig(Config):
    """Options of the ``runbinder`` plugin in mkdocs.yml."""

    runbooks_dir = c.Type(str, default="runbooks")
    """Directory holding catalog.yaml and the runbooks, relative to mkdocs.yml."""

    offline = c.Type(bool, default=True)
    """Serve mermaid, the search shim and the stylesheet from the site itself: no CDN request, works from file://."""

    nav = c.Type(bool, default=True)
    """Generate the navigation (overview pages, then services and their runbooks) when mkdocs.yml has no ``nav``."""

    configure_markdown = c.Type(bool, default=True)
    """Enable the Markdown extensions the generated pages use (admonition, attr_list, tables, superfences with a
    mermaid fence, tasklist, highlight) when mkdocs.yml does not list them."""


class RunbinderPlugin(BasePlugin[RunbinderConfig]):
    """Turns a directory of runbook YAML into site pages."""

    supports_multiple_instances = False

    def __init__(self) -> None:
        self.project: Project | None = None
        self.root: Path | None = None

    # -- configuration: validate first, so a broken runbook never costs the last good site

    @event_priority(50)  # before Material's offline plugin adds its CDN polyfill
    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        base = Path(config.config_file_path or ".").resolve().parent
        root = (base / self.config.runbooks_dir).resolve()
        if not (root / "catalog.yaml").is_file() and not (root / "catalog.yml").is_file():
            raise PluginError(f"runbinder: {root} has no catalog.yaml (set plugins.runbinder.runbooks_dir)")
        self.root = root
        self.project = load_project(root, None, base)
        errors = [d for d in self.project.diagnostics if d.level == "error"]
        for diagnostic in sorted(self.project.diagnostics):
            (log.error if diagnostic.level == "error" else log.warning)(diagnostic.text())
        if errors:
            raise PluginError(
                f"runbinder: {len(errors)} error(s) in {self.config.runbooks_dir}/; nothing was built and "
                f"{config.site_dir} was left as it was. Run `runbinder validate` for the same report."
            )
        if self.config.configure_markdown:
            _configure_markdown(config)
        if self.config.offline:
            config.extra_css.append(STYLESHEET)
            config.extra_css.append(SEVERITY_CSS)
            # Material loads mermaid from a CDN unless window.mermaid already exists.
            config.extra_javascript.append(MERMAID_JS)
            polyfills = [p for p in config.extra.get("polyfills", []) if "iframe-worker" not in str(p)]
            config.extra["polyfills"] = [*polyfills, IFRAME_WORKER_JS]
        return config

    # -- pages

    def on_files(self, files: Files, *, config: MkDocsConfig) -> Files:
        assert self.project is not None
        renderer = SiteRenderer(self.project.index, today=_today())
        pages = renderer.pages()
        generated = set()
        for path, content in pages.items():
            if files.get_file_from_path(path) is not None:
                if path == "index.md":
                    continue  # a hand-written home page wins
                raise PluginError(f"runbinder: docs/{path} would be replaced by a generated page; rename it")
            files.append(File.generated(config, path, content=content))
            generated.add(path)
        if self.config.offline:
            vendor = ASSETS / "vendor"
            files.append(File.generated(config, MERMAID_JS, abs_src_path=str(vendor / "mermaid" / "mermaid.min.js")))
            files.append(
                File.generated(config, IFRAME_WORKER_JS, abs_src_path=str(vendor / "iframe-worker" / "shim.js"))
            )
            files.append(File.generated(config, STYLESHEET, abs_src_path=str(ASSETS / "runbinder.css")))
            severities = [e.data for e in self.project.index["severities"].values()]
            files.append(File.generated(config, SEVERITY_CSS, content=severity_css(severities)))
        if self.config.nav and config.nav is None:
            extra = sorted(
                f.src_uri for f in files.documentation_pages() if f.src_uri not in generated and f.src_uri != "index.md"
            )
            nav: list[Any] = renderer.nav()
            config.nav = nav + extra
        return files

    def on_serve(self, server: LiveReloadServer, /, *, config: MkDocsConfig, builder: Any) -> LiveReloadServer:
        if self.root is not None:
            server.watch(str(self.root))
        return server


def _today() -> date:
    """Today, or SOURCE_DATE_EPOCH's day for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), tz=timezone.utc).date()
    return date.today()


def _configure_markdown(config: MkDocsConfig) -> None:
    from pymdownx.superfences import fence_code_format

    wanted: dict[str, dict[str, Any]] = {
        "admonition": {},
        "attr_list": {},
        "tables": {},
        "toc": {"permalink": True},
        "pymdownx.details": {},
        "pymdownx.highlight": {"anchor_linenums": False},
        "pymdownx.inlinehilite": {},
        "pymdownx.tasklist": {"custom_checkbox": True},
        "pymdownx.superfences": {},
    }
    for name, options in wanted.items():
        if name not in config.markdown_extensions:
            config.markdown_extensions.append(name)
            config.mdx_configs[name] = options
    fences = config.mdx_configs.setdefault("pymdownx.superfences", {}).setdefault("custom_fences", [])
    if not any(f.get("name") == "mermaid" for f in fences):
        fences.append({"name": "mermaid", "class": "mermaid", "format": fence_code_format})
