"""The application layer: the scripts' options and checks, their output files, shipping and
export."""
