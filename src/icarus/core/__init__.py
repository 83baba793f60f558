"""Settings, the one exception tree, logging and the plugin registry."""
