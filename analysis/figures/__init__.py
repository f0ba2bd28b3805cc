"""Altair figures: each a small function from polars frames to a chart.

Every figure built from synthetic data carries the "SYNTHETIC DEMO DATA" banner in its title.
Ranks are drawn on a reversed log axis (rank 1 at the top), the way charts are read.
Censoring is drawn, not left blank: censored days are ticks at the chart depth, removals a band.

Split by notebook: :mod:`.common` (titles, UTC dates, event rules), :mod:`.coverage` (data
overview), :mod:`.its` (model fits), :mod:`.robustness`, :mod:`.decomposition` (the answer) and
:mod:`.triangulation`.  The figures are re-exported here, so ``figures.its_chart`` keeps working.
"""

from analysis.figures.common import KIND_COLORS, WIDTH, title, utc_datetime, with_segments
from analysis.figures.coverage import coverage_heatmap, trajectories_with_status, weekly_coverage
from analysis.figures.its import ERROR_LABELS, forest, its_chart
from analysis.figures.robustness import coverage_bars, cutoff_heatmap, placebo_strip, spec_curve
from analysis.figures.scale import figure_apps

__all__ = ["ERROR_LABELS", "KIND_COLORS", "WIDTH", "coverage_bars", "coverage_heatmap", "cutoff_heatmap", "figure_apps", "forest", "its_chart",
           "placebo_strip", "spec_curve", "title", "trajectories_with_status", "utc_datetime", "weekly_coverage",
           "with_segments"]
