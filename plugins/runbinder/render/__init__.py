"""Pure renderers: validated runbook data in, Markdown / mermaid text out. No MkDocs imports here."""
