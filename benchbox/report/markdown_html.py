"""The few Markdown forms the report's text blocks use, as HTML: paragraphs, lists ("- "), pipe tables (through
pandas), **bold**, *italic*, `code` and <ins>underline</ins>. Everything else is escaped."""

from __future__ import annotations

import html
import re

import pandas as pd
from markupsafe import Markup

INLINE = (
    (re.compile(r"\*\*(.+?)\*\*"), r"<strong>\1</strong>"),
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"), r"<em>\1</em>"),
    (re.compile(r"`([^`]+)`"), r"<code>\1</code>"),
    (re.compile(r"&lt;(/?)ins&gt;"), r"<\1ins>"),
)


def inline_html(text: str) -> str:
    out = html.escape(text, quote=False)
    for pattern, replacement in INLINE:
        out = pattern.sub(replacement, out)
    return out


def markdown_html(text: str, inline: bool = False) -> Markup:
    """Markdown text as HTML (one paragraph's inline markup only, with `inline`)."""
    if inline:
        return Markup(inline_html(text))
    out = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.split("\n")
        if all(line.startswith("|") for line in lines) and len(lines) >= 2:
            out.append(table_html(lines))
        elif lines[0].startswith("- ") or (len(lines) > 1 and all(x.startswith("- ") for x in lines[1:])):
            head = [] if lines[0].startswith("- ") else [f"<p>{inline_html(lines[0])}</p>"]
            items = [x[2:] for x in lines if x.startswith("- ")]
            out.append("".join(head) + "<ul>" + "".join(f"<li>{inline_html(i)}</li>" for i in items) + "</ul>")
        else:
            out.append(f"<p>{inline_html(' '.join(lines))}</p>")
    return Markup("\n".join(out))


def table_html(lines: list[str]) -> str:
    """A pipe table (header, rule, rows) through pandas, its cells' inline Markdown as HTML."""
    rows = [[inline_html(c.strip()) for c in line.strip().strip("|").split("|")] for line in lines]
    frame = pd.DataFrame(rows[2:], columns=rows[0])
    return frame.to_html(index=False, escape=False, classes="md", border=0)
