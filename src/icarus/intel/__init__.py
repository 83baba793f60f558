"""Finding the people: resolve, locate, score, networks, candidates, packages."""
