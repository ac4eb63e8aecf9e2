"""Names and rules that several packages share have one definition each (issue 23):
the foundation stack's name, the way from a stack's folder back to the project root, the
S3 state key, and the words for data access. The tests here fail when a copy creeps back
or when the pieces that must meet (the local backend and ``ops``) stop meeting."""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest

from emr_constructs.model.contract import ENVIRONMENT_TAG, FOUNDATION, STACK_TAG, local_state_file, s3_state_key
from emr_constructs.model.layout import local_state_path, stack_folder
from environments.schema import DATA_ACCESS_MODES, READ_ONLY, READ_WRITE
from ops.state import find_managed_groups
from stacks.declaration import DECLARED_ACCESS_MODES, DataAccess, Purpose, purpose_problems

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("main.py", "emr_constructs", "environments", "stacks", "ops", "review", "deploy", "devtools", "bench")
# Each shared spelling and the one module allowed to write it.
DEFINED_IN = {
    FOUNDATION: "emr_constructs/model/contract.py",
    READ_ONLY: "environments/schema.py",
    READ_WRITE: "environments/schema.py",
}


def _string_constants(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def _sources():
    for entry in PACKAGES:
        path = ROOT / entry
        yield from [path] if path.is_file() else sorted(path.rglob("*.py"))


def test_shared_names_are_written_only_where_they_are_defined():
    copies = [
        f"{path.relative_to(ROOT)}:{line}: {value!r} (import it from {DEFINED_IN[value]})"
        for path in _sources()
        for line, value in _string_constants(path)
        if value in DEFINED_IN and path.relative_to(ROOT).as_posix() != DEFINED_IN[value]
    ]
    ups = [
        f"{path.relative_to(ROOT)}:{line}: {value!r} (use emr_constructs.model.layout.to_project_root)"
        for path in _sources()
        for line, value in _string_constants(path)
        if value.startswith("../")
    ]
    assert copies + ups == []


@pytest.mark.parametrize("environment, stack", [("example", FOUNDATION), ("acme", "spark-batch")])
def test_the_local_backend_writes_the_state_file_ops_reads(tmp_path, environment, stack):
    """The backend's path is relative to the stack's folder in the output folder; ``ops``
    looks in the project root. Both must name the same file, or ``ops status`` silently
    stops telling managed groups from leftovers."""
    folder = stack_folder(tmp_path / "cdktf.out", stack, environment)
    written = Path(os.path.normpath(folder / local_state_path(environment, stack)))
    assert written == tmp_path / local_state_file(environment, stack)
    group = {"id": "ig-1234567890ABC", "name": "task-spot-static-a", "cluster_id": "j-1234567890ABC"}
    written.write_text(
        json.dumps(
            {
                "version": 4,
                "resources": [
                    {"mode": "managed", "type": "aws_emr_instance_group", "instances": [{"attributes": group}]}
                ],
            }
        )
    )
    tags = {ENVIRONMENT_TAG: environment, STACK_TAG: stack}
    found = find_managed_groups("j-1234567890ABC", tags, state=None, root=tmp_path)
    assert found is not None and found.ids == {"ig-1234567890ABC": "task-spot-static-a"}


def test_the_state_key_is_one_per_environment_and_stack():
    keys = {s3_state_key(env, stack) for env in ("acme", "example") for stack in (FOUNDATION, "spark-batch")}
    assert len(keys) == 4
    assert all(key.endswith(".tfstate") and not key.startswith("/") for key in keys)


def test_declarations_and_settings_use_one_vocabulary_for_data_access():
    assert DECLARED_ACCESS_MODES == ("none", *DATA_ACCESS_MODES)


def _with_access(mode: str) -> Purpose:
    return Purpose(
        name="spark-ml", clusters=(lambda stack: None,), web_uis=(), autoscaling=False, data_access=DataAccess(mode)
    )


def test_a_declaration_with_the_old_read_word_is_told_the_new_one():
    (problem,) = purpose_problems((_with_access("read"),))
    assert problem == (
        "purpose 'spark-ml'.data_access.mode = 'read': now spelled 'read-only', as in the environment "
        "settings (one of none, read-only, read-write)"
    )


@pytest.mark.parametrize("mode", DECLARED_ACCESS_MODES)
def test_every_word_of_the_vocabulary_is_accepted_in_a_declaration(mode):
    assert purpose_problems((_with_access(mode),)) == []
