"""Pull-request review of plans (guide tips T3, T8 and "bid price"; docs/review.md).

Two sources, one report:

* synthesized (``--base REF``): every environment the change touches (review.scope) is
  synthesized on the base ref and on the working tree (review.synth: concurrently,
  cached by content address, stopping at the first failure) and the ``cdk.tf.json`` of
  each stack compared (review.plan), with Terraform's rules for what replaces a resource
  (review.rules; ``ignore_changes`` only hides differences on an in-place update);
* Terraform's own plans (``--plan``, review.tfplan): the verdicts are Terraform's actions.

The report (review.report) starts with one summary line and the replacement guard
(review.emr: protected clusters, and when ``--allow-replace`` cannot help), then one
section per environment and stack: resources, EMR clusters and instance groups, instances
and Spot capacity, security-group rules and IAM statements (review.security), bootstrap
scripts (review.bootstrap; each diff once), estimated hourly cost. ``--json`` gives the
same verdicts machine-readable.

Nothing here imports cdktf: the engine reads JSON, so it runs in milliseconds once the
syntheses exist.
"""
