"""The perception–distortion plane (Blau & Michaeli 2018) of a super-resolution table: each row's PSNR and SSIM
against its distribution distance, as the HTML report's figure. Rows that trade distortion for realism (SRGAN, SR3)
sit apart from those trained for the pixels' MSE (SRResNet) and from bicubic interpolation."""

from __future__ import annotations

import pandas as pd

from benchbox.report.figures import Point

DISTORTION = ("sr_psnr", "sr_ssim")


def distortion_points(summary: pd.DataFrame, task: str) -> tuple[str, tuple[Point, ...]]:
    """The task's perception value (its FD column) and one point per row that records it and PSNR; none when the
    task's records have no PSNR of upscaled images."""
    sub = summary[summary["task"] == task]
    perception = sorted(m for m in set(sub["metric"]) if m.startswith("fd_") or m == "fid")
    if "sr_psnr" not in set(sub["metric"]) or not perception:
        return "", ()
    x = perception[0]
    points = []
    for model, cells in sub.groupby("model", sort=False):
        cells = cells.set_index("metric")
        if x in cells.index and "sr_psnr" in cells.index:
            values = {
                m: (float(cells.loc[m, "mean"]), float(cells.loc[m, "std"])) for m in DISTORTION if m in cells.index
            }
            points.append(Point(str(model), str(model), float(cells.loc[x, "mean"]), values))
    return x, tuple(points)
