"""Shared test configuration: hypothesis profiles.

* ``ci``  -- chosen when the environment variable CI is set: derandomized (the same
  examples every run, so a red CI is reproducible), bounded example counts, no deadline
  (shared machines are noisy).
* ``dev`` -- the default elsewhere: random examples, a wider search.
* ``deep`` -- opt in with HYPOTHESIS_PROFILE=deep for a long local hunt.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, max_examples=30, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev", max_examples=100, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "deep", max_examples=2000, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))
