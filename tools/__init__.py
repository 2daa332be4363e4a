"""Build and check scripts (run from the repository root as ``python tools/NAME.py``)."""
