"""What a purpose is, declared once: ``Purpose`` (guide tips T0-T3).

A purpose is one stack of the app (``spark-batch``, ``spark-stream``, ``service-presto``):
its named clusters (T3), the web UIs its masters serve to people (T2), whether its
clusters may carry custom automatic scaling policies (T0: the autoscaling role must exist
before a cluster that uses it), and what it may do with the data bucket (T0: least
privilege for the instance role). ``stacks.clusters.PURPOSE_DECLARATIONS`` holds one
``Purpose`` per stack; nothing else lists purposes.

Every field must be given, even when empty (``web_uis=()``), so a new purpose states each
need instead of inheriting one by omission. ``purpose_problems`` checks a whole
declaration list and returns every problem at once; ``check_purposes`` raises them as
one ``PurposeError`` (exit 2 from ``main.py``, nothing synthesized).

The declaration says what a purpose has and needs *by default*; environment settings may
open or narrow it per purpose (which UIs are reachable, a narrower data access). They
name UIs by ``WebUi.key`` and data access by ``environments.schema.READ_ONLY``/``READ_WRITE``, so a setting can be
checked against the declaration (``Purpose.ui``, ``Purpose.ui_keys``).

This module imports no cdktf: settings checks and tools can read it cheaply.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeGuard

from emr_constructs.model.contract import FOUNDATION
from emr_constructs.model.errors import ConstructInputError
from environments.schema import DATA_ACCESS_MODES, READ_ONLY

# Data-bucket access of the instance role, narrowest first: none, or one of the words the
# environment settings use for a prefix (READ_ONLY, READ_WRITE), so a declaration and a
# setting say the same thing the same way.
DATA_NONE = "none"
DECLARED_ACCESS_MODES = (DATA_NONE, *DATA_ACCESS_MODES)
# The declarations' word for READ_ONLY before the two vocabularies became one (issue 23).
_OLD_READ = "read"

# The stack name is also a state key and part of resource names (``<env>-<purpose>-emr-
# autoscaling`` must fit IAM's 64 characters with a 31-character environment name).
_PURPOSE_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$", re.ASCII)
PURPOSE_NAME_MAX = 16
RESERVED_STACK_NAMES = (FOUNDATION,)
_UI_KEY = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$", re.ASCII)
_PREFIX = re.compile(r"^([A-Za-z0-9!_.'()-]+/)*$", re.ASCII)
SSH_PORT = 22
FIELDS = ("clusters", "web_uis", "autoscaling", "data_access")


class PurposeError(ConstructInputError):
    """Problems in the purpose declarations (``stacks.clusters.PURPOSE_DECLARATIONS``)."""


@dataclass(frozen=True)
class WebUi:
    """A web UI on the master that people open from the office (tip T2).

    ``key``: short name settings use to open or close it, e.g. ``spark-history``;
    ``description``: what the security-group rule says; ``port``: TCP port on the master.
    """

    key: str
    description: str
    port: int


SPARK_HISTORY_UI = WebUi("spark-history", "Spark History Server UI", 18080)
YARN_RESOURCEMANAGER_UI = WebUi("yarn-resourcemanager", "YARN ResourceManager UI", 8088)
TRINO_UI = WebUi("trino", "Trino/Presto coordinator", 8889)


@dataclass(frozen=True)
class DataAccess:
    """The instance role's access to the data bucket (tip T0).

    ``mode``: ``none``, ``read-only`` or ``read-write`` (``DECLARED_ACCESS_MODES``, the
    settings' words); ``prefixes``: key prefixes it covers,
    each ending in ``/`` (default ``("",)``: the whole bucket). Ignored with ``none``.
    """

    mode: str
    prefixes: tuple[str, ...] = ("",)


@dataclass(frozen=True, kw_only=True)
class Purpose:
    """One purpose stack, declared in one place. Every field is required (keyword-only;
    left out, it is reported as missing rather than defaulted):

      name: the stack name, lower-case words joined by ``-`` (at most 16 characters).
      clusters: the functions that define its named clusters, at least one
        (``stacks.clusters``; each takes the PurposeStack and returns its EmrCluster).
      web_uis: the WebUi entries its masters serve to people; ``()`` for none.
        SSH is separate (admin CIDRs, every purpose).
      autoscaling: True when its clusters may carry custom automatic scaling policies
        (creates the autoscaling role); False otherwise (EMR managed scaling needs none).
      data_access: DataAccess on the environment's data bucket.
      summary: one line on what the purpose runs (documentation; default empty).
    """

    name: str | None = None
    clusters: tuple[Callable[..., Any], ...] | None = None
    web_uis: tuple[WebUi, ...] | None = None
    autoscaling: bool | None = None
    data_access: DataAccess | None = None
    summary: str = ""

    def ui(self, key: str) -> WebUi:
        for ui in self.web_uis or ():
            if ui.key == key:
                return ui
        raise KeyError(
            f"purpose {self.name!r} declares no web UI {key!r} (it has: {', '.join(self.ui_keys) or 'none'})"
        )

    @property
    def ui_keys(self) -> tuple[str, ...]:
        return tuple(ui.key for ui in self.web_uis or ())


def _is_sequence(value: Any) -> TypeGuard[tuple | list]:
    return isinstance(value, (tuple, list))


def _purpose_problems(where: str, p: Purpose) -> list[str]:
    problems: list[str] = []
    missing = [f for f in FIELDS if getattr(p, f) is None]
    if missing:
        problems.append(
            f"{where}: missing {', '.join(missing)}; every purpose declares all of {', '.join(FIELDS)} "
            "(write web_uis=() for a purpose without UIs, autoscaling=False when its clusters need no "
            "custom scaling policies, data_access=DataAccess('none') for no data bucket access)"
        )
    if p.clusters is not None:
        if not _is_sequence(p.clusters) or not p.clusters:
            problems.append(
                f"{where}.clusters = {p.clusters!r}: a non-empty tuple of cluster functions (see stacks/clusters.py)"
            )
        else:
            for i, define in enumerate(p.clusters):
                if not callable(define):
                    problems.append(
                        f"{where}.clusters[{i}] = {define!r}: a function taking the stack and returning its EmrCluster"
                    )
    if p.web_uis is not None:
        if not _is_sequence(p.web_uis):
            problems.append(f"{where}.web_uis = {p.web_uis!r}: a tuple of WebUi, () for none")
        else:
            problems += _ui_problems(where, p.web_uis)
    if p.autoscaling is not None and not isinstance(p.autoscaling, bool):
        problems.append(f"{where}.autoscaling = {p.autoscaling!r}: True or False")
    if p.data_access is not None:
        problems += _data_access_problems(f"{where}.data_access", p.data_access)
    if not isinstance(p.summary, str):
        problems.append(f"{where}.summary = {p.summary!r}: a line of text")
    return problems


def _ui_problems(where: str, uis) -> list[str]:
    problems: list[str] = []
    keys: dict[str, int] = {}
    ports: dict[int, int] = {}
    for i, ui in enumerate(uis):
        at = f"{where}.web_uis[{i}]"
        if not isinstance(ui, WebUi):
            problems.append(f"{at} = {ui!r}: a WebUi(key, description, port)")
            continue
        if not isinstance(ui.key, str) or not _UI_KEY.fullmatch(ui.key):
            problems.append(f"{at}.key = {ui.key!r}: lower-case words joined by '-', e.g. 'spark-history'")
        elif ui.key in keys:
            problems.append(f"{at}.key = {ui.key!r}: already used by web_uis[{keys[ui.key]}]")
        else:
            keys[ui.key] = i
        if not isinstance(ui.description, str) or not ui.description.strip():
            problems.append(f"{at}.description = {ui.description!r}: what the UI is, for the security-group rule")
        if not isinstance(ui.port, int) or isinstance(ui.port, bool) or not 1 <= ui.port <= 65535:
            problems.append(f"{at}.port = {ui.port!r}: a TCP port, 1-65535")
        elif ui.port == SSH_PORT:
            problems.append(f"{at}.port = 22: SSH is opened to the admin CIDRs for every purpose, not as a web UI")
        elif ui.port in ports:
            problems.append(f"{at}.port = {ui.port}: already used by web_uis[{ports[ui.port]}]")
        else:
            ports[ui.port] = i
    return problems


def _data_access_problems(where: str, access: Any) -> list[str]:
    if not isinstance(access, DataAccess):
        return [f"{where} = {access!r}: a DataAccess(mode, prefixes), mode one of {', '.join(DECLARED_ACCESS_MODES)}"]
    problems = []
    if access.mode == _OLD_READ:
        problems.append(
            f"{where}.mode = {access.mode!r}: now spelled {READ_ONLY!r}, as in the environment settings "
            f"(one of {', '.join(DECLARED_ACCESS_MODES)})"
        )
    elif access.mode not in DECLARED_ACCESS_MODES:
        problems.append(f"{where}.mode = {access.mode!r}: one of {', '.join(DECLARED_ACCESS_MODES)}")
    if not _is_sequence(access.prefixes) or not access.prefixes:
        problems.append(
            f"{where}.prefixes = {access.prefixes!r}: a non-empty tuple of key prefixes, ('',) for the whole bucket"
        )
    else:
        for i, prefix in enumerate(access.prefixes):
            if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
                problems.append(
                    f"{where}.prefixes[{i}] = {prefix!r}: '' (whole bucket) or a key prefix "
                    "ending in '/', without wildcards or a leading '/', e.g. 'curated/'"
                )
    return problems


def purpose_problems(purposes: Iterable[Any]) -> list[str]:
    """Every problem in a list of purpose declarations."""
    if not _is_sequence(purposes) or not purposes:
        return [f"PURPOSE_DECLARATIONS = {purposes!r}: a non-empty tuple of Purpose declarations"]
    problems: list[str] = []
    names: dict[str, int] = {}
    owners: dict[Callable, str | None] = {}
    for i, p in enumerate(purposes):
        if not isinstance(p, Purpose):
            problems.append(
                f"PURPOSE_DECLARATIONS[{i}] = {p!r}: a Purpose(name=..., clusters=..., web_uis=..., "
                "autoscaling=..., data_access=...)"
            )
            continue
        where = f"purpose {p.name!r}" if isinstance(p.name, str) and p.name else f"PURPOSE_DECLARATIONS[{i}]"
        if not isinstance(p.name, str) or not _PURPOSE_NAME.fullmatch(p.name) or len(p.name) > PURPOSE_NAME_MAX:
            problems.append(
                f"PURPOSE_DECLARATIONS[{i}].name = {p.name!r}: lower-case words joined by '-', at most "
                f"{PURPOSE_NAME_MAX} characters (it names the stack, its state and its roles)"
            )
        elif p.name in RESERVED_STACK_NAMES:
            problems.append(
                f"PURPOSE_DECLARATIONS[{i}].name = {p.name!r}: the name of the foundation stack; choose another"
            )
        elif p.name in names:
            problems.append(
                f"PURPOSE_DECLARATIONS[{i}].name = {p.name!r}: already declared as PURPOSE_DECLARATIONS[{names[p.name]}]"
            )
        else:
            names[p.name] = i
        problems += _purpose_problems(where, p)
        for define in p.clusters if _is_sequence(p.clusters) else ():
            if not callable(define):
                continue
            label = getattr(define, "__name__", repr(define))
            if define in owners and owners[define] != p.name:
                problems.append(
                    f"{where}.clusters: {label} is also a cluster of purpose {owners[define]!r}; "
                    "a cluster belongs to one purpose"
                )
            elif define in owners:
                problems.append(f"{where}.clusters: {label} is listed twice")
            owners.setdefault(define, p.name)
    return problems


def check_purposes(purposes: Iterable[Any]) -> None:
    problems = purpose_problems(purposes)
    if problems:
        raise PurposeError("stacks/clusters.py PURPOSE_DECLARATIONS", problems)


def find_purpose(purposes: Iterable[Purpose], name: str) -> Purpose:
    for p in purposes:
        if p.name == name:
            return p
    declared = ", ".join(str(p.name) for p in purposes)
    raise PurposeError(
        "PurposeStack",
        [
            f"purpose = {name!r}: not declared; declared purposes are {declared}. Declare it in "
            "stacks/clusters.py PURPOSE_DECLARATIONS (see docs/operations.md, 'Add a purpose')"
        ],
    )
