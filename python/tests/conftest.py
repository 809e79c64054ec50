"""pytest set-up: import lwnpu from this checkout (python/), find the build.

The build directory is $NPU_BUILD (make test sets it), else build/; the
library is the build's libnpu.so.1 unless $LWNPU_LIBRARY names another.
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "python"))


@pytest.fixture(scope="session")
def repo():
    """The repository root."""
    return REPO


@pytest.fixture(scope="session")
def build():
    """The build directory (absolute): $NPU_BUILD, else build/."""
    b = os.environ.get("NPU_BUILD") or "build"
    return os.path.join(REPO, b) if not os.path.isabs(b) else b
