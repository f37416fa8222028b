import os
import sys

sys.path.insert(0, os.path.dirname(__file__))  # so test modules can `from helpers import ...`

import fake_backend  # noqa: E402

fake_backend.register()  # the test-only "fake" device (see fake_backend.py)
