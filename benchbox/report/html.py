"""The report as one self-contained HTML file: the tables as pandas Stylers, the papers' numbers in a block of their
own, and figures drawn with matplotlib, every image embedded as a data: URI (nothing else to fetch).

Per task: the headline and topic tables; the sample preview of each row's first seed (an 8×8 grid of images, or
toy2d's samples over the true modes); the training curves from the runs' loss history; and each model's sampling
trade-off (a quality value against network evaluations per sample, or the trade-off values against the guidance
scale).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import jinja2
import pandas as pd
from markupsafe import Markup

from benchbox.report.distortion import DISTORTION
from benchbox.report.figures import tradeoff_figure, training_curves
from benchbox.report.findings import RULE as FINDINGS_RULE
from benchbox.report.findings import findings_frame
from benchbox.report.markdown import MARKS_LINE
from benchbox.report.markdown_html import markdown_html
from benchbox.report.sections import Section, TaskSection
from benchbox.report.styled import html_table, reported_frame
from benchbox.report.tradeoff import figure_axes, tradeoff_markdown


@dataclass(frozen=True)
class Image:
    uri: str
    caption: str


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


PAGE = jinja2.Template(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>benchbox report: {{ suite }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
table.results, table.md { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.85em; }
table.results caption { caption-side: top; text-align: left; font-weight: 600; padding: 0.3em 0; }
table.results th, table.results td, table.md th, table.md td { padding: 0.2em 0.6em; text-align: right; white-space: nowrap; }
table.results thead th, table.md thead th { border-bottom: 1px solid #222; }
table.results tbody th, table.md td:first-child { text-align: left; font-weight: normal; }
.reported { border-left: 4px solid #8a6d3b; background: #fcf8e3; padding: 0.2em 1em; margin: 1em 0; }
.reported table { font-style: italic; }
.gallery { display: flex; flex-wrap: wrap; gap: 0.8em; }
.gallery figure { margin: 0; text-align: center; font-size: 0.75em; }
.gallery img { width: 180px; image-rendering: pixelated; border: 1px solid #ccc; }
figure.wide img { max-width: 100%; }
table.findings td { white-space: normal; text-align: left; vertical-align: top; max-width: 22em; }
.provenance, .notes { font-size: 0.8em; color: #444; }
</style></head>
<body>
<h1>{{ suite }}</h1>
{% for s in sections %}<section>
<h2>{{ s.heading }}</h2>
{% for line in s.lines %}<p>{{ line }}</p>
{% endfor %}<p class="notes">{{ marks }}</p>
{% for t in s.tasks %}<h3>{{ t.name }}</h3>
{% for table in t.tables %}{{ table }}
{% endfor %}{% for note in t.notes %}<p class="notes">{{ note }}</p>
{% endfor %}{% if t.reported %}<div class="reported"><h4>Reported in papers (not run here; each spread as its paper states it)</h4>
{{ t.reported }}</div>
{% endif %}{% for block in t.blocks %}{{ block }}
{% endfor %}{% if t.previews %}<h4>Samples of each model (its first seed, from a fixed preview seed)</h4>
<div class="gallery">{% for img in t.previews %}<figure><img src="{{ img.uri }}" alt="samples of {{ img.caption }}"><figcaption>{{ img.caption }}</figcaption></figure>{% endfor %}</div>
{% endif %}{% for img in t.figures %}<figure class="wide"><img src="{{ img.uri }}" alt="{{ img.caption }}"><figcaption>{{ img.caption }}</figcaption></figure>
{% endfor %}{% endfor %}{% if s.findings %}<div class="findings"><h3>Findings</h3><p class="notes">{{ s.findings_rule }}</p>
{{ s.findings }}</div>
{% endif %}<div class="notes">{% for note in s.notes %}{{ note }}
{% endfor %}</div>
<div class="provenance">{{ s.provenance }}</div>
</section>{% endfor %}
</body></html>
""",
    autoescape=True,
)


def html_report(suite: str, sections: list[Section]) -> str:
    return PAGE.render(suite=suite, marks=markdown_html(MARKS_LINE), sections=[section_view(s) for s in sections])


def section_view(section: Section) -> dict[str, object]:
    return {
        "heading": markdown_html(section.heading, inline=True),
        "lines": [markdown_html(line, inline=True) for line in section.lines],
        "tasks": [task_view(t) for t in section.tasks],
        "notes": [markdown_html(n) for n in section.notes],
        "provenance": markdown_html(section.provenance),
        "findings": Markup(findings_html(section)) if section.findings else "",
        "findings_rule": markdown_html(FINDINGS_RULE, inline=True),
    }


VERDICT_COLOURS = {"reproduced": "#1b5e20", "contradicted": "#b71c1c"}


def findings_html(section: Section) -> str:
    """The Findings block as a table, each verdict coloured by its word."""
    frame = findings_frame(section.findings)
    verdict = frame.columns[-1]

    def colour(text: str) -> str:
        word = text.split(":")[0]
        return f"color: {VERDICT_COLOURS[word]}; font-weight: 600" if word in VERDICT_COLOURS else ""

    styler = frame.style.hide(axis="index").map(colour, subset=[verdict])
    return styler.to_html(table_attributes='class="md findings"')


def task_view(task: TaskSection) -> dict[str, object]:
    reported = reported_frame(task.reported) if task.reported else pd.DataFrame()
    blocks = [markdown_html(tradeoff_markdown(t)) for t in task.tradeoffs]
    blocks += [markdown_html(text) for text in (task.ordering, task.curve_text) if text]
    return {
        "name": task.task,
        "tables": [Markup(html_table(t)) for t in task.tables.tables],
        "notes": [markdown_html(n, inline=True) for n in task.tables.notes],
        "reported": Markup(reported.style.to_html()) if not reported.empty else "",
        "blocks": blocks,
        "previews": [Image(data_uri(png), name) for name, png in task.previews.items()],
        "figures": figures(task),
    }


def figures(task: TaskSection) -> list[Image]:
    out = []
    if task.curves:
        caption = "Training curves: each logged loss per checkpoint interval (first seed solid, others faint)"
        out.append(Image(data_uri(training_curves(task.curves)), caption))
    for t in task.tradeoffs:
        x, points, values = figure_axes(t)
        if x and points and values:
            title = f"Sampling trade-off of {t.model} (mean ± std over seeds)"
            out.append(Image(data_uri(tradeoff_figure(title, x, points, values)), title))
    x, points = task.distortion
    if points:
        caption = f"Perception–distortion: PSNR and SSIM against {x}, mean ± std over seeds (up and left is better)"
        out.append(Image(data_uri(tradeoff_figure("Perception–distortion", x, points, DISTORTION)), caption))
    return out
