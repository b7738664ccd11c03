"""The applications over the one API: the analysis pipeline, the CLI, live mode and batch mode."""
