"""The guarded deploy: ``python -m deploy`` / ``make deploy`` (see ``deploy.cli``).

Synthesize, plan with ``-out``, review the saved plan with the review engine (its
replacement guard keeps protected clusters, guide tip T3's long-lived named clusters,
from being replaced by accident), and apply exactly the reviewed plan; recover from an
interrupted run (``deploy.recovery``). Never imports cdktf itself: synthesis goes through
``main.run``.
"""
