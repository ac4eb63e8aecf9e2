"""Operations command for the emr-cdktf clusters: ``python -m ops ...`` (guide tips T4, T8, bid price).

Subcommands (see ``ops.cli`` and the README's Operations section):

- ``status CLUSTER``: instance groups, the active static Spot group, instance ages,
  the holder of the fixed master IP (``ops.status``);
- ``rotate-spot CLUSTER [--yes]``: safe A/B renewal of the static Spot task groups
  (``ops.rotation``, whose docstring holds the state machine);
- ``prices refresh --region R``: rewrites the on-demand price table from the AWS Price
  List API (``ops.prices``).

Exit codes are listed in ``ops.errors``. This package uses boto3 only and never imports
cdktf (a test checks it), so it starts fast on an operator's laptop or a bastion.
"""
