"""What a user reads: plots, the report, key frames, the annotated video, face blurring, the history."""
