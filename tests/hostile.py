"""Hostile text: every way we know of to get markup, script, a request or a file out of runbook text.

Each entry is (class, payload). The classes come from attacks that got through earlier designs (a regex that
guessed what Markdown would parse) and from each output runbinder writes: Markdown pages, navigation and
titles, CSS, diagrams, the print page and the binder.
"""

from __future__ import annotations

SENTINEL = "RBPWNED"

MARKDOWN_PAYLOADS: list[tuple[str, str]] = [
    ("raw-script", f"<script>alert('{SENTINEL}')</script>"),
    ("raw-img-onerror", "<img src=x onerror=alert(1)>"),
    ("raw-svg-onload", "<svg/onload=alert(1)>"),
    ("raw-iframe-file", "<iframe src=file:///etc/passwd></iframe>"),
    ("raw-object", "<object data=file:///etc/passwd></object><embed src=file:///etc/passwd>"),
    ("raw-style", "<style>body{display:none}</style>"),
    ("raw-math-mxss", "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>"),
    ("raw-block-html", '<div onclick="alert(1)">\n\n**inside**\n\n</div>'),
    ("raw-comment", "<!-- <img src=x onerror=alert(1)> -->"),
    ("raw-meta-refresh", '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">'),
    ("link-javascript", "[click](javascript:alert(1))"),
    ("link-javascript-spaced", "[click]( JavaScript:alert(1) )"),
    ("link-javascript-entity", "[click](java&#x09;script:alert(1))"),
    ("link-javascript-tab", "[click](java\tscript:alert(1))"),
    ("link-vbscript", "[click](vbscript:msgbox(1))"),
    ("link-data-html", "[click](data:text/html,<script>alert(1)</script>)"),
    ("link-file", "[click](file:///etc/passwd)"),
    ("link-angle-autolink", "<javascript:alert(1)>"),
    ("link-next-line", "[click](\njavascript:alert(1))"),
    ("ref-definition", "[click][r]\n\n[r]: javascript:alert(1)"),
    ("ref-definition-split", "[click][r]\n\n[r]:\n    javascript:alert(1)"),
    ("ref-definition-in-list", "- [click][r]\n\n  [r]: javascript:alert(1)"),
    ("image-remote", "![tracker](https://tracker.invalid/p.png)"),
    ("image-data-svg", "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)"),
    ("image-javascript", "![x](javascript:alert(1))"),
    ("escaped-backticks", "\\`<img src=x onerror=alert(1)>\\`"),
    ("uneven-backticks", "``<img src=x onerror=alert(1)>`"),
    ("unclosed-fence", "```\n<img src=x onerror=alert(1)>"),
    ("rejected-fence", "~~~~~~~x y z\n<img src=x onerror=alert(1)>\n~~~"),
    ("indented-fence", "    ```\n    <img src=x onerror=alert(1)>\n    ```"),
    ("mermaid-fence", '```mermaid\ngraph TD\nA["<img src=x onerror=alert(1)>"]-->B\nclick A call alert(1)\n```'),
    ("attr-list", 'Paragraph\n{: onclick="alert(1)" }'),
    ("attr-list-inline", "text {: onmouseover=alert(1) }"),
    ("attr-list-code", "`code`{: onclick=alert(1) }"),
    ("entity-tricks", "&lt;script&gt;alert(1)&lt;/script&gt; &#60;img src=x onerror=alert(1)&#62;"),
    ("nested-tags", "<<script>script>alert(1)<</script>/script>"),
    ("snippet-line", '--8<-- "/etc/passwd"'),
    ("snippet-block", "--8<--\n/etc/passwd\n--8<--"),
    ("jinja-macro", "{{ config.site_name }} {% include '/etc/passwd' %}"),
    ("html-heading-break", "# </h1><script>alert(1)</script>"),
    ("table-breakout", "| a | b |\n|---|---|\n| <img src=x onerror=alert(1)> | [x](javascript:alert(1)) |"),
]
"""Markdown fields: every one must come out as allowlisted HTML with no script, request or file."""

PLAIN_PAYLOADS: list[tuple[str, str]] = [
    ("tag", "x<svg onload=alert(1)>"),
    ("title-breakout", "</title><script>alert(1)</script>"),
    ("style-breakout", "</style><script>alert(1)</script>"),
    ("attribute-breakout", '"><img src=x onerror=alert(1)>'),
    ("markdown-link", "[x](javascript:alert(1))"),
    ("attr-list", "Title {: onclick=alert(1) }"),
    ("table-pipe", "a | b"),
    ("emphasis", "*not* _emphasis_ `code`"),
    ("entity", "&amp; &lt;b&gt;"),
    ("snippet", '--8<-- "/etc/passwd"'),
    ("jinja", "{{ config }} {% raw %}"),
    ("css-escape", '\\"; } body { background: url(//x.invalid/) } /*'),
]
"""Plain-text fields (titles, names, table cells): every one must show exactly as written."""

URL_PAYLOADS: list[tuple[str, str]] = [
    ("paren-breakout", "https://x.org/)<svg/onload=alert(1)>"),
    ("quote-breakout", 'https://x.org/"><svg/onload=alert(1)>'),
    ("space", "https://x.org/a b)<svg onload=alert(1)>"),
]

EMAIL_PAYLOADS: list[tuple[str, str]] = [
    ("paren-breakout", "a@x.org)<svg onload=alert(1)>"),
    ("link-in-value", "a@x.org](javascript:alert(1))"),
]
