"""In-memory implementations of the ports, for the unit tests of the core."""
