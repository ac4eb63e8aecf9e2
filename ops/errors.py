"""Exit codes and the errors the CLI turns into them.

Every failure an operator can meet is one of these exceptions, raised with a message
that says what happened and what to do; ``ops.cli.main`` prints the message and exits
with the class's code. Nothing else should escape to a traceback.

====  ==========================================================================
code  meaning
====  ==========================================================================
0     done (or, without ``--yes``, the plan was printed and nothing changed)
1     the operation was attempted and failed (Spot shortage timeout, group arrested,
      price missing from the Price List, AWS endpoint unreachable, other AWS error)
2     refused or bad usage: bad arguments, unknown cluster, cluster or groups in a
      state that makes the operation unsafe (nothing was changed)
3     AWS credentials or permissions: no credentials, expired token, access denied
      (the message names the IAM action)
130   interrupted (Ctrl-C); nothing is rolled back, re-run the same command to continue
====  ==========================================================================
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_REFUSED = 2
EXIT_ACCESS = 3
EXIT_INTERRUPTED = 130


class OpsError(Exception):
    """Base class: ``str(exc)`` is the operator-facing message."""

    exit_code = EXIT_FAILED


class OperationFailed(OpsError):
    """The operation was attempted and did not complete."""

    exit_code = EXIT_FAILED


class Refused(OpsError):
    """Bad input or an unsafe cluster state; nothing was changed."""

    exit_code = EXIT_REFUSED


class AccessProblem(OpsError):
    """Missing/expired credentials or an IAM denial."""

    exit_code = EXIT_ACCESS
