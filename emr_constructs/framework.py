"""The one framework seam: the app runs on cdktf 0.21 (the default) or on CDK Terrain 0.24.

Every module of the project imports ``cdktf`` and ``cdktf_cdktf_provider_aws`` by those
names. CDK Terrain (``cdktn``, ``cdktn_provider_aws``), the community continuation of the
deprecated cdktf, keeps cdktf's constructs API under other module names. So instead of a
second copy of the imports, ``install`` maps the two names onto CDK Terrain in Python's
import system when ``EMR_CDKTF_FRAMEWORK=cdktn``: ``import cdktf`` then yields the
``cdktn`` module itself, ``cdktf_cdktf_provider_aws.emr_cluster`` yields
``cdktn_provider_aws.emr_cluster``, and no construct, stack or test changes. The mapping
is lazy (nothing is imported until the app imports it: the ops command, which shares the
pure-Python helpers, still loads no framework) and is installed by the package's
``__init__``, which Python runs before any ``emr_constructs`` module, and by
``stacks/__init__``, so it is in place before the first construct or stack imports cdktf.

Which framework a virtualenv holds is the Makefile's business (``FRAMEWORK=cdktn`` uses
``.venv-cdktn``, the Pipfile's ``[cdktn]`` category, and the ``cdktn`` CLI); this module
checks that the setting and the installed packages agree and says how to fix it when not.
See docs/framework.md. Guide tips: none (toolchain).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.metadata
import importlib.util
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

FRAMEWORK_VARIABLE = "EMR_CDKTF_FRAMEWORK"
DEFAULT_FRAMEWORK = "cdktf"

# The hashicorp/aws version every stack pins, whichever framework synthesizes it. Each
# binding package would pin the provider it was generated from (cdktf's 21.22.1: 6.25.0;
# cdktn-provider-aws 25.8.1: 6.69.1); pinning it here keeps a framework switch from being
# a provider upgrade too, and is the one place to move it (docs/framework.md).
AWS_PROVIDER_VERSION = "6.25.0"
AWS_PROVIDER_SOURCE = "hashicorp/aws"


@dataclass(frozen=True)
class Framework:
    """``core``/``provider``: the Python modules; ``distribution``/``provider_distribution``:
    the packages that carry them; ``cli``: the command that synthesizes and deploys."""

    name: str
    core: str
    provider: str
    distribution: str
    provider_distribution: str
    cli: str
    how_to_install: str


FRAMEWORKS = {
    "cdktf": Framework(
        "cdktf",
        "cdktf",
        "cdktf_cdktf_provider_aws",
        "cdktf",
        "cdktf-cdktf-provider-aws",
        "cdktf",
        "`make deps` (the Pipfile's [packages], in .venv)",
    ),
    "cdktn": Framework(
        "cdktn",
        "cdktn",
        "cdktn_provider_aws",
        "cdktn",
        "cdktn-provider-aws",
        "cdktn",
        "`make deps FRAMEWORK=cdktn` (the Pipfile's [cdktn], in .venv-cdktn)",
    ),
}


class FrameworkError(ValueError):
    """The framework setting names no framework, or names one this Python does not have."""


def selected(environ: dict[str, str] | os._Environ[str] | None = None) -> Framework:
    """The framework ``EMR_CDKTF_FRAMEWORK`` names (unset or empty: cdktf). Refuses any other
    value, naming the allowed ones."""
    value = (os.environ if environ is None else environ).get(FRAMEWORK_VARIABLE, "").strip()
    name = value or DEFAULT_FRAMEWORK
    if name not in FRAMEWORKS:
        allowed = ", ".join(f"{f.name} ({f.how_to_install})" for f in FRAMEWORKS.values())
        raise FrameworkError(
            f"{FRAMEWORK_VARIABLE}={value!r} is not a framework this app runs on; allowed: {allowed}. "
            f"Unset it for the default ({DEFAULT_FRAMEWORK}), or run `make <target> FRAMEWORK=cdktn`."
        )
    return FRAMEWORKS[name]


def versions(framework: Framework) -> dict[str, str]:
    """The installed versions of the framework's two packages (what a report prints)."""
    return {
        dist: importlib.metadata.version(dist) for dist in (framework.distribution, framework.provider_distribution)
    }


_DEFAULT_NAMES = (FRAMEWORKS[DEFAULT_FRAMEWORK].core, FRAMEWORKS[DEFAULT_FRAMEWORK].provider)


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves ``cdktf[.x]`` and ``cdktf_cdktf_provider_aws[.x]`` from CDK Terrain's modules."""

    def __init__(self, framework: Framework) -> None:
        self.names = dict(zip(_DEFAULT_NAMES, (framework.core, framework.provider), strict=True))
        self.real_specs: dict[str, importlib.machinery.ModuleSpec | None] = {}

    def target(self, name: str) -> str | None:
        head, dot, rest = name.partition(".")
        return self.names[head] + dot + rest if head in self.names else None

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if self.target(fullname) is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.target(spec.name) or spec.name)
        # The import system stamps the alias's spec on the module it gets; keep the real one
        # so CDK Terrain's own machinery (jsii's assembly loading) sees its own names.
        self.real_specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        alias = module.__spec__.name if module.__spec__ else ""
        module.__spec__ = self.real_specs.pop(alias, module.__spec__)


class _Missing(importlib.abc.MetaPathFinder):
    """Answers any import of the framework's names with the reason it is not installed."""

    def __init__(self, problem: str) -> None:
        self.problem = problem

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] in _DEFAULT_NAMES:
            raise FrameworkError(self.problem)
        return None


def missing(framework: Framework) -> str | None:
    """Why this Python cannot run ``framework`` (not installed; what it has instead and how
    to install it), or None."""
    if _installed(framework):
        return None
    others = [f.name for f in FRAMEWORKS.values() if f is not framework and _installed(f)]
    hint = f"; this Python ({sys.prefix}) has {others[0]}: set {FRAMEWORK_VARIABLE}={others[0]}" if others else ""
    return (
        f"{FRAMEWORK_VARIABLE}={framework.name}, but {framework.distribution} is not installed in this "
        f"Python ({sys.prefix}){hint}. Install it with {framework.how_to_install}."
    )


def require(environ: dict[str, str] | os._Environ[str] | None = None) -> Framework:
    """The selected framework, refused at once (``FrameworkError``) when this Python lacks it.
    ``main.py`` calls it first: a synthesis needs the framework, so it says so before anything."""
    framework = selected(environ)
    problem = missing(framework)
    if problem:
        raise FrameworkError(problem)
    return framework


def install(environ: dict[str, str] | os._Environ[str] | None = None) -> Framework:
    """Make ``import cdktf`` mean the selected framework in this process (idempotent).

    A value naming no framework is refused at once. A framework this Python does not hold
    is refused lazily, by the first import of a framework name, with what to run instead:
    code that never imports a framework (``ops``, ``review``, the stand-in server reading
    ``emr_constructs.model.layout``) runs in either virtualenv. CDK Terrain selected after the
    real cdktf was already imported is refused at once."""
    framework = selected(environ)
    if any(isinstance(f, (_Alias, _Missing)) for f in sys.meta_path):
        return framework
    problem = missing(framework)
    if problem:
        sys.meta_path.insert(0, _Missing(problem))
        return framework
    if framework.name == DEFAULT_FRAMEWORK:
        return framework
    loaded = sys.modules.get(FRAMEWORKS[DEFAULT_FRAMEWORK].core)
    if loaded is not None and loaded.__name__ == FRAMEWORKS[DEFAULT_FRAMEWORK].core:
        raise FrameworkError(
            f"{FRAMEWORK_VARIABLE}={framework.name}, but cdktf itself was imported before the framework seam; "
            "import emr_constructs (or stacks) before cdktf."
        )
    sys.meta_path.insert(0, _Alias(framework))
    return framework


def _installed(framework: Framework) -> bool:
    return importlib.util.find_spec(framework.core) is not None
