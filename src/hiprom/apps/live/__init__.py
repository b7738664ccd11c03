"""hiprom live: a webcam, stream or file measured in real time."""
