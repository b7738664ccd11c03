"""Core data types: the landmark series and the analysis result. Pure data, no I/O."""
