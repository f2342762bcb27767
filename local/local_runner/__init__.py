"""photo-pipeline on one machine, for the demo, `make serve` and the end-to-end tests. Not for production."""
