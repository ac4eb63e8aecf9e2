"""The plain-Python half of the construct library: what a cluster, a fleet and its disks
are and every rule their inputs must meet (``cluster_spec``, ``fleet_spec``, ``ebs``,
``validation``, ``fixed_ip_rules``, ``errors``), prices and AWS catalogs (``pricing``,
``catalog``, ``data/``), names ops shares with the stacks (``contract``) and where a
synthesized app keeps its stacks (``layout``).

None of these imports cdktf or the provider bindings (tests/test_framework.py checks it):
``ops``, ``review``, ``deploy`` and the settings loader use them and start in a second.
The cdktf constructs are the modules one level up (``emr_constructs.emr_cluster`` ...).
"""
