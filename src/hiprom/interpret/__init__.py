"""From angles to a measurement: per-side results, quality, norms and screening flags."""
