"""The report as a LaTeX document: booktabs tables (pandas Styler) that compile with pdflatex in a minimal article
(packages: geometry, booktabs, caption), one table per headline and topic, the papers' numbers in their own table,
the provenance as a footnote-sized paragraph. Copy a table environment into a paper as it is."""

from __future__ import annotations

from benchbox.report.findings import RULE as FINDINGS_RULE
from benchbox.report.findings import findings_frame
from benchbox.report.markdown import MARKS_LINE
from benchbox.report.sections import Section
from benchbox.report.styled import latex_table, latex_text, reported_frame

PREAMBLE = r"""\documentclass{article}
\usepackage[margin=1.5cm,landscape]{geometry}
\usepackage{booktabs}
\usepackage{caption}
\begin{document}
"""


def plain(markdown: str) -> str:
    """Markdown text (bold, italic, code, <ins>) as plain text for latex_text."""
    for token in ("**", "`", "<ins>", "</ins>"):
        markdown = markdown.replace(token, "")
    return markdown.replace("*", "")


def latex_report(suite: str, sections: list[Section]) -> str:
    out = [PREAMBLE, rf"\section*{{{latex_text(suite)}}}", latex_text(plain(MARKS_LINE)) + "\n"]
    for s in sections:
        out.append(rf"\subsection*{{{latex_text(plain(s.heading))}}}")
        out += [latex_text(plain(line)) + "\n" for line in s.lines]
        for task in s.tasks:
            out.append(r"{\small")
            for table in task.tables.tables:
                caption = f"{s.suite} v{s.version}, budget {s.budget}, {task.task}: {table.title}"
                out.append(latex_table(table, latex_text(caption)))
            if task.reported:
                caption = latex_text(f"{task.task}: reported in papers (not run here)")
                out.append(
                    reported_frame(task.reported, latex_text).style.to_latex(
                        hrules=True, caption=caption, position="htbp", position_float="centering"
                    )
                )
            out.append("}")
            out += [latex_text(plain(note)) + "\n" for note in task.tables.notes]
        if s.findings:
            out.append(latex_text(plain(FINDINGS_RULE)) + "\n")
            frame = findings_frame(s.findings, latex_text)
            out.append(r"{\scriptsize")
            out.append(
                frame.style.hide(axis="index").to_latex(
                    hrules=True,
                    caption=latex_text(f"{s.suite} v{s.version}, budget {s.budget}: findings of the papers"),
                    position="htbp",
                    position_float="centering",
                    column_format="p{5cm}p{5cm}p{5.5cm}p{3cm}lp{3.5cm}",
                )
            )
            out.append("}")
        out.append(r"\clearpage")
        out.append(r"{\footnotesize " + latex_text(plain(s.provenance)).replace("\n", "\n\n") + "}\n")
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"
