"""The sampling trade-off block: a model and its sampling variants as points of one curve, in the setting's order."""

from benchbox.report.tables import markdown_tables
from benchbox.report.tradeoff import order_key
from benchbox.runner.describe import describe_suite
from benchbox.testing import result_record
from benchmarks.digits import SUITE as DIGITS

# (row, fd, class accuracy) of a made-up guidance sweep: FD falls then rises while class accuracy climbs
SWEEP = {
    "ddpm-cfg-w0": (9.0, 0.60),
    "ddpm-cfg": (5.0, 0.85),
    "ddpm-cfg-w2": (4.0, 0.93),
    "ddpm-cfg-w3": (4.5, 0.96),
    "ddpm-cfg-w5": (7.0, 0.99),
}


def records():
    out = []
    for model, (fd, acc) in SWEEP.items():
        for metric, value in (("fd_digits", fd), ("class_accuracy_digits", acc)):
            out.append(
                result_record(suite="digits", task="digits", budget="short", model=model, metric=metric, value=value)
            )
    return out


def test_the_guidance_sweep_is_one_block_ordered_by_scale():
    text = markdown_tables(records(), [], describe_suite(DIGITS), 1, "short")
    block = text[text.index("**Sampling trade-off of `ddpm-cfg`**") :]
    lines = [line for line in block.splitlines() if line.startswith("| ddpm-cfg")]
    # w is the one setting the rows differ in; the base row samples at the config's w = 1
    assert lines == [
        "| ddpm-cfg-w0 | 0.0 | 9.00 | 0.600 |",
        "| ddpm-cfg | 1.0 | 5.00 | 0.850 |",
        "| ddpm-cfg-w2 | 2.0 | 4.00 | 0.930 |",
        "| ddpm-cfg-w3 | 3.0 | 4.50 | 0.960 |",
        "| ddpm-cfg-w5 | 5.0 | 7.00 | 0.990 |",
    ]
    assert "| row | guidance_scale | fd_digits ↓ | class_accuracy_digits ↑ |" in block
    assert "Own `short` budget of ddpm-cfg, ddpm-cfg-w0" in text  # the diffusion budget is printed with the table


def test_settings_order_numbers_numerically_and_names_first():
    values = [10.0, "ddpm", 2.0, "ddim", 0]
    assert sorted(values, key=order_key) == ["ddim", "ddpm", 0, 2.0, 10.0]


def test_figures_plot_a_guidance_sweep_against_its_scale_and_samplers_against_their_cost():
    from benchbox.report.tradeoff import Tradeoff, figure_axes

    values = {"fd_x": (5.0, 0.1), "precision_x": (0.5, 0.01), "nfe_per_sample": (20.0, 0.0)}
    metrics = ["fd_x", "precision_x", "nfe_per_sample"]
    sweep = Tradeoff("cfg", ["guidance_scale"], {f"w{w}": {"guidance_scale": w} for w in (0, 1, 3)},
                     {f"w{w}": values for w in (0, 1, 3)}, metrics)  # fmt: skip
    x, points, plotted = figure_axes(sweep)
    assert x == "guidance_scale" and [p.x for p in points] == [0, 1, 3]
    assert plotted == ["fd_x", "precision_x"]  # the trade-off values, not the cost
    settings = {
        "ddpm": {"sampler": "ddpm", "sample_steps": 20},
        "ddim10": {"sampler": "ddim", "sample_steps": 10},
        "ddim50": {"sampler": "ddim", "sample_steps": 50},
    }
    nfe = {"ddpm": 20.0, "ddim10": 10.0, "ddim50": 50.0}
    samplers = Tradeoff("ddpm", ["sampler", "sample_steps"], settings,
                        {k: {**values, "nfe_per_sample": (v, 0.0)} for k, v in nfe.items()}, metrics)  # fmt: skip
    x, points, plotted = figure_axes(samplers)
    assert x == "nfe_per_sample" and plotted == ["fd_x", "precision_x"]  # the quality values
    assert {(p.label, p.line, p.x) for p in points} == {("ddpm", "ddpm", 20.0), ("ddim10", "ddim", 10.0),
                                                         ("ddim50", "ddim", 50.0)}  # fmt: skip
