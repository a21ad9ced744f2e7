"""A report table as one pandas Styler, rendered to HTML or to a booktabs LaTeX table: family groups as the first
index level (a rule between groups), the best value in bold and the second underlined, cells that are no number
(diverged, failed, mixed weights) in red."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import pandas as pd
from pandas.io.formats.style import Styler

from benchbox.report.format import decimals, format_value
from benchbox.report.layout import Cell, Table
from benchbox.report.markdown import header
from benchbox.suite import ReportedResult

NOT_A_NUMBER = re.compile(r"diverged|failed|mixed")
HTML_MARKS = {"best": "font-weight: bold;", "second": "text-decoration: underline;", "none": "color: #b00020;"}
LATEX_MARKS = {"best": "textbf: --rwrap;", "second": "underline: --rwrap;", "none": ""}
LATEX_SYMBOLS = {
    "σ\u0302": r"$\hat\sigma$",  # σ̂ (σ and a combining circumflex), before σ
    "±": r"$\pm$",
    "∞": r"$\infty$",
    "↑": r"$\uparrow$",
    "↓": r"$\downarrow$",
    "—": "---",
    "–": "--",
    "χ²": r"$\chi^2$",
    "²": r"$^2$",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "η": r"$\eta$",
    "β": r"$\beta$",
    "σ": r"$\sigma$",
    "λ": r"$\lambda$",
    "·": r"$\cdot$",
    "×": r"$\times$",
    "‖": r"$\|$",
    "ρ": r"$\rho$",
    "ε": r"$\varepsilon$",
    "δ": r"$\delta$",
    "ν": r"$\nu$",
    "α": r"$\alpha$",
    "μ": r"$\mu$",
    "τ": r"$\tau$",
    "−": r"$-$",
    "→": r"$\rightarrow$",
    "≈": r"$\approx$",
}
LATEX_SPECIALS = {c: "\\" + c for c in "&%$#_{}"} | {"~": r"\textasciitilde{}", "^": r"\^{}", "\\": r"\textbackslash{}"}


def latex_text(text: str) -> str:
    """Plain text (with the few symbols tables use) as LaTeX that pdflatex compiles."""
    out = "".join(LATEX_SPECIALS.get(c, c) for c in str(text))
    for symbol, command in LATEX_SYMBOLS.items():
        out = out.replace(symbol, command)
    return out


def table_frame(table: Table, text: Callable[[str], str] = str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(cells, marks): the table's texts indexed by (family, model), and each cell's mark ("best", "second",
    "none" for a cell that is no number, or "")."""
    index, rows, kinds = [], [], []
    for label, group in table.groups():
        for row in group:
            index.append((text(label), text(row.name)))
            cells = [row.cells[c.name] for c in table.columns]
            rows.append([text(row.seeds), *(text(c.text) for c in cells)])
            kinds.append(["", *(mark_of(c) for c in cells)])
    columns = [text("seeds"), *(text(header(c.name)) for c in table.columns)]
    mi = pd.MultiIndex.from_tuples(index, names=[text("family"), text("model")])
    return pd.DataFrame(rows, index=mi, columns=columns), pd.DataFrame(kinds, index=mi, columns=columns)


def mark_of(cell: Cell) -> str:
    return cell.mark or ("none" if NOT_A_NUMBER.search(cell.text) else "")


def styler(cells: pd.DataFrame, kinds: pd.DataFrame, css: dict[str, str]) -> Styler:
    return cells.style.apply(lambda _: kinds.map(lambda k: css.get(k, "")), axis=None)


def html_table(table: Table) -> str:
    cells, kinds = table_frame(table)
    firsts = first_rows(cells.index)
    style = styler(cells, kinds, HTML_MARKS)
    style = style.apply(lambda row: ["border-top: 1px solid #555;" if row.name in firsts else ""] * len(row), axis=1)
    return style.set_table_attributes('class="results"').set_caption(table.title).to_html()


def first_rows(index: pd.MultiIndex) -> set[tuple[str, str]]:
    """The first row of every family group but the first: where the rule between groups goes."""
    seen, out = set(), set()
    for key in index:
        if key[0] not in seen:
            if seen:
                out.add(key)
            seen.add(key[0])
    return out


def latex_table(table: Table, caption: str) -> str:
    cells, kinds = table_frame(table, latex_text)
    style = styler(cells, kinds, LATEX_MARKS).hide(names=True, axis="index")
    return style.to_latex(
        hrules=True,  # booktabs: \toprule, \midrule, \bottomrule
        clines="skip-last;data",  # a rule between family groups
        multirow_align="naive",  # the family on its first row only: no multirow package needed
        column_format="ll" + "r" * len(cells.columns),
        caption=caption,
        position="htbp",
        position_float="centering",
        environment="table",
    )


def reported_frame(reported: Sequence[ReportedResult], text: Callable[[str], str] = str) -> pd.DataFrame:
    """The papers' numbers: a row per (source, method), a column per value, empty where a paper gave none."""
    columns = list(dict.fromkeys(r.metric for r in reported))
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for r in reported:
        spread = f" ({r.spread_kind})" if r.spread is not None and r.spread_kind else ""
        cell = format_value(r.value, r.spread, decimals(r.metric)) + spread
        rows.setdefault((text(r.source + (f"; {r.note}" if r.note else "")), text(r.method)), {})[
            text(header(r.metric))
        ] = text(cell)
    index = pd.MultiIndex.from_tuples(list(rows), names=[text("source"), text("method (reported)")])
    return pd.DataFrame(list(rows.values()), index=index, columns=[text(header(c)) for c in columns]).fillna("")
