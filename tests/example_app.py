"""What the example app declares, spelled out for parametrizing tests.

Collecting the tests must not import the constructs (the provider bindings take seconds),
and ``stacks.clusters`` imports them; tests/test_purposes.py checks these names against
``stacks.clusters.PURPOSE_DECLARATIONS``, so a new purpose fails there until it is listed.
"""

from __future__ import annotations

# The purpose stacks, in declaration order.
PURPOSES: tuple[str, ...] = ("spark-batch", "spark-stream", "service-presto")
# The purposes that declare autoscaling=True (they get the autoscaling role).
AUTOSCALING_PURPOSES: frozenset[str] = frozenset({"spark-batch", "service-presto"})
