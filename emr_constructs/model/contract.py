"""Names shared by the deploy side (constructs, stacks) and the ops side (``ops/``).

Both sides must spell these exactly alike: the stacks create instance groups and tags
under these names, and ``python -m ops`` finds groups and reads or writes tags by them.
Keeping them in one module, imported by both, turns a rename into one edit instead of a
silent mismatch (for example the provider would stop ignoring a tag that ops writes, and
the next plan would remove it from a running cluster mid-rotation).

This module imports nothing, so ``ops`` (which never loads cdktf) can import it freely.
Guide tips: T8 (the A/B static Spot pair and its rotation) and T4 (the fixed master IP).
"""

# The stack every purpose stack builds on (bootstrap bucket, fixed-IP reservation, disk key):
# deployed first, destroyed last, and no purpose may take its name.
FOUNDATION = "foundation"

# The project's name: the ``project`` tag of every resource and the first part of every
# stack's S3 state key.
PROJECT = "emr-cdktf"

# Instance groups of every cluster (EmrCluster names master and core explicitly, because
# EMR reports the name back and an unset one would differ on every plan).
MASTER_GROUP = "master"
CORE_GROUP = "core"

# Spot task groups (guide tip T8): a static pair A/B that ``ops rotate-spot`` alternates,
# and an optional dynamic group resized by hand.
STATIC_A = "task-spot-static-a"
STATIC_B = "task-spot-static-b"
STATIC_PAIR = (STATIC_A, STATIC_B)
DYNAMIC_GROUP = "task-spot-dynamic"
# Instances the idle static side is created with (SpotTaskGroupPair): a group created with
# 0 would start one instance anyway (provider issue 38837). ``ops rotate-spot`` recognizes a
# new cluster by it: one side at its count, the other at exactly this many.
IDLE_SIDE_COUNT = 1

# Cluster tag holding the master's fixed private IP (guide tip T4); ``ops status`` reads it.
FIXED_IP_TAG = "fixed-private-ip"

# Cluster tag ``ops rotate-spot`` writes while a rotation is in progress, so a re-run can
# resume it. The AWS provider ignores it (``ignore_tags``), or a plan would remove it.
ROTATION_TAG = "emr-cdktf:spot-rotation"

# Tags operations write on running clusters and Terraform must therefore not manage.
OPERATIONS_TAGS = (ROTATION_TAG,)

# The tag AmazonEMRServicePolicy_v2 requires on every resource it acts on (clusters,
# security groups); EmrCluster and EmrSecurityGroups always set it to "true".
MANAGED_POLICY_TAG = "for-use-with-amazon-emr-managed-policies"

# Default tags of every resource of the app (the AWS provider's default_tags): ops finds a
# cluster's environment and stack by them, and from those the stack's state.
ENVIRONMENT_TAG = "environment"
STACK_TAG = "stack"


def local_state_file(environment: str, stack: str) -> str:
    """A stack's default local Terraform state, in the project root. The environment's name
    comes first, so two environments never share a state; ``ops`` reads it to tell the
    instance groups Terraform manages from leftovers of a replacement."""
    return f"terraform.{environment}.{stack}.tfstate"


def s3_state_key(environment: str, stack: str) -> str:
    """A stack's state key in the environment's state bucket (``[state] bucket``): one per
    environment and stack, so two environments never share a state."""
    return f"{PROJECT}/{environment}/{stack}.tfstate"
