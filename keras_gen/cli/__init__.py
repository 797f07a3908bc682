"""The `keras-gen` command line."""
