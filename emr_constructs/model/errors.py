"""The one error shape of the construct library: every problem with one construct's
inputs, collected and raised together, before anything is synthesized."""

from __future__ import annotations


class ConstructInputError(ValueError):
    """``subject``: which construct or call; ``problems``: one message per problem, each
    naming the setting, the value given and what is allowed; ``outcome``: what did not
    happen because of them."""

    def __init__(self, subject: str, problems: list[str], *, outcome: str = "nothing was synthesized"):
        self.subject = subject
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{subject}: {len(problems)} problem(s); {outcome}:\n{lines}")


class EmrConfigError(ConstructInputError):
    """Every problem found in a cluster's (or its task groups') inputs."""
