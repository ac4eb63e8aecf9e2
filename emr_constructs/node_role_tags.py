"""Node role tags: every EMR node's Name tag gets ``-MASTER``, ``-CORE`` or ``-TASK`` at
boot (the guide's "tags" tip), so the EC2 console shows which node is which.

The bootstrap script (``assets/bootstrap/tag_instance_role.py``) does the tagging; this
module adds it to a cluster and grants the instance role exactly what the script needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emr_constructs.iam_roles import regional_arn
from emr_constructs.model.cluster_spec import BootstrapAction

if TYPE_CHECKING:
    from emr_constructs.emr_cluster import EmrCluster


def tag_nodes_with_role(cluster: EmrCluster, *, action: BootstrapAction, region: str, account_id: str) -> None:
    """Append -MASTER / -CORE / -TASK to every node's Name tag at boot.

    ``action`` runs ``tag_instance_role.py``. The instance role may read instances
    (``ec2:DescribeInstances`` has no resource-level permissions) and write only the
    ``Name`` tag, only on EMR instances of this purpose (EMR copies the cluster's tags,
    ``purpose`` among them, to its instances and adds the job-flow id tag). The script
    overwrites Name with CreateTags, so no ``ec2:DeleteTags`` is granted.
    """
    cluster.add_bootstrap_action(action)
    cluster.roles.add_statement(sid="RoleTagsReadInstance", actions=["ec2:DescribeInstances"], resources=["*"])
    cluster.roles.add_statement(
        sid="RoleTagsWriteName",
        actions=["ec2:CreateTags"],
        resources=[regional_arn("ec2", region, account_id, "instance/*")],
        conditions={
            "StringEquals": {"aws:ResourceTag/purpose": cluster.purpose},
            "StringLike": {"aws:ResourceTag/aws:elasticmapreduce:job-flow-id": "j-*"},
            "ForAllValues:StringEquals": {"aws:TagKeys": ["Name"]},
        },
    )
