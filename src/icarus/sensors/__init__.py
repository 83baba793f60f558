"""Watching the networks: sighting formats, the sightings dataset, collectors."""
