"""Building the Lambda assets without Docker: the runtime sources, the local bundler, and what every
Python function of ours has in common."""
