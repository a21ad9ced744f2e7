"""Every format of `benchbox report` from a store of real smoke runs: CSV and JSON read back into pandas with the
store's values, the LaTeX compiles with pdflatex, and the HTML renders in headless Chromium with every image loaded."""

import io
import json
import math
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy import stats

from benchbox.report.render import render_report
from benchbox.store import ResultStore
from benchbox.testing import have_or_install


def test_csv_and_json_round_trip_into_pandas_with_the_stores_values(smoke_store):
    store = ResultStore(smoke_store)
    records = {(r.task, r.model, r.seed, r.metric): r.value for r in store.records(suite="digits")}
    table = pd.read_csv(io.StringIO(render_report(store, "digits", "csv")))
    seeds = table[table["kind"] == "seed"]
    assert len(seeds) == len(records)
    for row in seeds.itertuples():
        assert row.value == records[(row.task, row.model, row.seed, row.metric)]  # every digit
    summary = table[table["kind"] == "summary"].set_index(["model", "metric"])
    for (model, metric), group in seeds.groupby(["model", "metric"]):
        values = group["value"].to_numpy()
        assert summary.loc[(model, metric), "mean"] == pytest.approx(np.mean(values), rel=1e-12)
        assert summary.loc[(model, metric), "std"] == pytest.approx(np.std(values, ddof=1), rel=1e-12, abs=1e-15)
    data = json.loads(render_report(store, "digits", "json"))
    back = pd.DataFrame(data["records"])
    assert sorted(back["value"]) == sorted(seeds["value"])
    assert set(data) == {"summaries", "records", "reported", "findings"}


def test_json_keeps_infinity_and_nan_apart(smoke_store):
    data = json.loads(render_report(ResultStore(smoke_store), "toy2d", "json"))
    means = [row["mean"] for row in data["summaries"]]
    assert all(m is None or m == "inf" or math.isfinite(m) for m in means)


def test_latex_compiles(smoke_store, tmp_path):
    tex = render_report(ResultStore(smoke_store), "digits", "tex")
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex  # booktabs
    assert tex.count(r"\begin{tabular}") == tex.count(r"\end{tabular}") >= 5
    why = have_or_install("pdflatex", packages=("texlive-latex-base", "texlive-latex-recommended"))
    if why:
        pytest.skip(f"no TeX engine: {why}")
    (tmp_path / "report.tex").write_text(tex)
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "report.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert (tmp_path / "report.pdf").stat().st_size > 10_000


def test_html_is_one_file_whose_images_all_load_in_chromium(smoke_store, tmp_path):
    html = render_report(ResultStore(smoke_store), "digits", "html")
    assert 'src="http' not in html and "<link" not in html  # nothing to fetch: every image is a data: URI
    page = tmp_path / "digits.html"
    page.write_text(html)
    why = have_or_install("chromium", "chromedriver", packages=("chromium", "chromium-driver"))
    if why:
        pytest.skip(f"no headless browser: {why}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1300,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    try:
        driver.get(page.as_uri())
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth])"
        )
        tables = driver.execute_script(
            "return Array.from(document.querySelectorAll('table.results caption')).map(c => c.textContent)"
        )
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(1300, min(height + 50, 10_000))
        driver.save_screenshot(str(tmp_path / "digits.png"))
    finally:
        driver.quit()
    alts = [alt for alt, _, _ in images]
    assert all(done and width > 0 for _, done, width in images), images
    assert {"samples of dcgan", "samples of vae", "samples of ddpm", "samples of ddpm-ddim10"} <= set(alts)
    assert any(a.startswith("Training curves") for a in alts) and any(a.startswith("Sampling trade-off") for a in alts)
    assert tables[0] == "Headline" and "Sampling cost" in tables
    shot = Image.open(tmp_path / "digits.png")
    assert shot.size[1] > 900 and len(np.unique(np.asarray(shot.convert("L")))) > 10  # a page was drawn, not a blank


def test_the_html_shows_a_diverged_run_as_such_and_toy2d_samples_over_the_modes(smoke_store):
    html = render_report(ResultStore(smoke_store), "toy2d", "html")
    assert "diverged at step 3" in html
    assert html.count('alt="samples of ') == 2 * 2  # gan-ns and pacgan2 on ring8 and grid25; none for the diverged


def test_every_format_carries_the_findings_block_decided_from_the_stores_values(smoke_store):
    """The findings' p-values in the CSV are scipy's one-sided Welch (or paired) test on the per-seed values the same
    CSV holds; Markdown, LaTeX and HTML print the block with the same verdicts."""
    store = ResultStore(smoke_store)
    table = pd.read_csv(io.StringIO(render_report(store, "digits", "csv")))
    seeds = table[table["kind"] == "seed"]
    findings = table[table["kind"] == "finding"].set_index("key")
    assert set(findings.index) >= {"iwae-bound", "ddim-10-steps", "relativistic", "guidance-precision"}

    def per_seed(model, metric):
        return seeds[(seeds["model"] == model) & (seeds["metric"] == metric)].sort_values("seed")["value"].to_numpy()

    ddim = findings.loc["ddim-10-steps"]
    want = stats.ttest_ind(
        per_seed("ddpm-ddim10", "fd_digits"), per_seed("ddpm-anc10", "fd_digits"), equal_var=False, alternative="less"
    ).pvalue
    assert ddim["p_value"] == pytest.approx(want, rel=1e-9) and ddim["test"] == "Welch's t-test, one-sided"
    iwae = findings.loc["iwae-bound"]
    diff = per_seed("vae", "nll_bits_per_dim") - per_seed("vae", "elbo_bits_per_dim")
    assert iwae["p_value"] == pytest.approx(stats.ttest_1samp(diff, 0.0, alternative="less").pvalue, rel=1e-9)
    assert findings.loc["relativistic", "verdict"] == "not measured"  # rasgan was not run into this store
    markdown = render_report(store, "digits", "md")
    block = markdown[markdown.index("**Findings**") :]
    for key, row in findings.iterrows():
        assert f"`{key}`" in block and f"**{row['verdict']}**" in block
    assert "Findings" in render_report(store, "digits", "html")
    assert "findings of the papers" in render_report(store, "digits", "tex")
