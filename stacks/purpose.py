"""Purpose stacks: one stack per cluster purpose (guide tip T3 splits clusters by purpose).

``spark-batch``, ``spark-stream`` and ``service-presto``. Each owns its clusters, security
groups and roles, so deploying one purpose never touches another.
"""

from __future__ import annotations

from constructs import Construct

from environments.settings import Settings
from stacks.base import EmrBaseStack

SPARK_BATCH = "spark-batch"
SPARK_STREAM = "spark-stream"
SERVICE_PRESTO = "service-presto"
PURPOSES = (SPARK_BATCH, SPARK_STREAM, SERVICE_PRESTO)


class PurposeStack(EmrBaseStack):
    def __init__(self, scope: Construct, purpose: str, *, settings: Settings) -> None:
        if purpose not in PURPOSES:
            raise ValueError(f"purpose = {purpose!r}: allowed purposes are {', '.join(PURPOSES)}")
        super().__init__(scope, purpose, settings=settings)
        self.purpose = purpose
