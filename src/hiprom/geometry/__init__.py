"""Pure geometry of the seated test: image angles, camera roll, the camera's view of each leg, the shank's axis."""
