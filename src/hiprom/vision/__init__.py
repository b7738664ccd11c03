"""From pixels to people: the pose model and its store, the per-frame recorder, the subject's
choice, silhouette and scene lines."""
