"""The names of the studies, importable without loading anything (the command line's start-up).

:data:`analysis.data.studies.registry.STUDIES` describes each; a test keeps the two in step.
"""

# The studies in the order the command line and the landing page list them; only the demo is synthetic.
STUDY_NAMES: tuple[str, ...] = ("demo", "jan2021", "custom", "wiki-top100", "wiki-views", "wiki-dp")
SYNTHETIC_STUDIES = frozenset({"demo"})
