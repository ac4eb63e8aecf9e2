"""Stacks: one per cluster purpose plus a foundation stack for long-lived shared things."""

# Before any stack module imports cdktf: the framework seam (emr_constructs.framework).
import emr_constructs  # noqa: E402,F401
