"""The batched estimation engine: one design for many series, fitted with linear algebra instead
of a loop of statsmodels fits (statsmodels is the reference in the tests): OLS with iid/HAC
errors, exact AR(1) ML, censored AR(1) by pairwise likelihood, Tobit, count GLMs."""
