"""hiprom batch: many clips scored into one table, resumably."""
