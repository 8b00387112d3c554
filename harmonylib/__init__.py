"""harmonylib: the helper package of the harmony notebooks.

A reproducible study of predominant musical instrument recognition (IRMAS), re-implementing
"Harmony Is All You Need" (Ferković & Smoljan, 2023). Modules mirror the report's chapters;
the notebooks in ``notebooks/`` tell the story and import from here.
"""

__version__ = "0.1.0"
