"""Robustness and honesty checks: placebo dates and years, alternative cutoffs, the Lopez Bernal
checklist, dose designs, coverage simulations and coverage against the demo's truth."""
