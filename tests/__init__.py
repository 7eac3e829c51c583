"""The test suite. TensorFlow's C++ logs are errors only, for the suite and the scripts it
starts (set here, before any test module imports TensorFlow)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
