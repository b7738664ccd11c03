"""Input and output at the file level: frames and video probing, atomic writes, content hashes, saved files."""
