"""Pull-request review of synthesized plans (issue 7; guide tip T3).

Synthesizes a base git ref and the working tree, compares every stack's
``cdk.tf.json`` and writes a Markdown report: resources added, removed and changed;
EMR cluster and instance-group changes marked in place or replacing (review.rules);
security-group rules and IAM statements in readable form; bootstrap scripts and the
clusters they replace; instances, Spot bids and estimated hourly cost. A guard fails the
run when a protected cluster would be replaced or destroyed.

Reads synthesized JSON only: nothing here imports cdktf, so the engine runs in
milliseconds on two parsed documents (``review.plan.diff`` + ``review.report.render``).
"""
