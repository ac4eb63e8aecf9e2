"""BootstrapAssets: upload the bootstrap scripts a stack runs, from one directory, to S3 under
content-hashed keys (guide tips "fixed IP" and "tags" need their scripts on S3; tip T3 for
addresses).

Each file a cluster uses (through ``action``) becomes a ``TerraformAsset`` (copied into the
synthesized stack) and an ``aws_s3_object`` in the foundation's bootstrap bucket, key
``bootstrap/<purpose>/<stem>-<first 16 hex of sha256><suffix>``:

* the content hash in the key means a changed script is a *new object*: nothing is
  overwritten under a running cluster;
* the hash is also the action's last argument (``--script-sha256 <16 hex>``, see
  ``SCRIPT_HASH_ARG``). The provider forces a new cluster when the list of bootstrap
  actions or an action's ``args`` change, but not when only an action's ``path`` changes:
  with the hash in the key alone, a script edit would update the path in the Terraform
  state only, the running cluster would keep the old path, and the old object would be
  deleted under it, so every node EMR adds later (core resize, task groups) would fail to
  bootstrap. With the hash in the arguments a script edit replaces every cluster that runs
  it, which the review reports and its guard refuses for protected clusters;
* the per-stack prefix means two stacks never manage the same key;
* the old object stays until the clusters referencing it are replaced: the object's
  address derives from the file name (not the hash) and it is created before the old one
  is destroyed (``create_before_destroy``); Terraform destroys the old object only after
  the clusters that depend on it have been replaced.

Every script run through ``action`` must therefore accept ``--script-sha256 HEX`` as its
last arguments (the project's scripts do; a shell script can ignore its arguments).

Reading the files it is given is this construct's job; the directory comes from the stack.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from cdktf import AssetType, TerraformAsset, TerraformResourceLifecycle, Token
from cdktf_cdktf_provider_aws.s3_object import S3Object
from constructs import Construct

from emr_constructs.model import validation
from emr_constructs.model.cluster_spec import BootstrapAction
from emr_constructs.model.errors import EmrConfigError

KEY_ROOT = "bootstrap"
HASH_HEX = 16
#: The argument every action ends with, followed by the first HASH_HEX hex digits of the
#: script's sha256: it ties each cluster to the exact script it runs (see the module docs).
SCRIPT_HASH_ARG = "--script-sha256"
_PURPOSE = re.compile(r"^[a-z][a-z0-9-]*$", re.ASCII)
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", re.ASCII)
_CONTENT_TYPES = {".py": "text/x-python", ".sh": "text/x-shellscript"}


def content_key(purpose: str, file_name: str, content: bytes) -> str:
    """``bootstrap/<purpose>/<stem>-<sha256[:16]><suffix>``."""
    return _key(purpose, file_name, hashlib.sha256(content).hexdigest())


def _key(purpose: str, file_name: str, sha256: str) -> str:
    path = Path(file_name)
    return f"{KEY_ROOT}/{purpose}/{path.stem}-{sha256[:HASH_HEX]}{path.suffix}"


@dataclass(frozen=True)
class BootstrapScript:
    """One uploaded script: ``file_name``, ``key``, ``bucket``, ``sha256``, ``s3_uri``
    (literal) and ``s3_path`` (token of the S3 object, so users depend on the upload)."""

    file_name: str
    bucket: str
    key: str
    sha256: str
    s3_path: str
    object: S3Object

    @property
    def s3_uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


class BootstrapAssets(Construct):
    """Every file of ``directory`` uploaded to ``bucket_name`` under content-hashed keys.

    Inputs (keyword-only):
      directory: folder of bootstrap scripts (required; the stack passes
        ``assets/bootstrap``). Every regular file is available; hidden files and
        ``__pycache__`` are skipped. Only files named in ``action`` are uploaded.
      bucket_name: the foundation stack's bootstrap bucket (required).
      purpose: the stack's purpose, used as the key prefix (required).

    Attributes: ``available`` (file name -> path, every script of the folder),
    ``scripts`` (file name -> BootstrapScript, the uploaded ones), ``prefix``.
    Method: ``action(file_name, *, args=(), name=None)`` -> BootstrapAction for EmrCluster,
    whose arguments are ``args`` + ``--script-sha256 <hex>``; a script is uploaded on its
    first ``action``, so a stack uploads only what it runs.
    """

    def __init__(self, scope: Construct, id: str, *, directory: str | Path, bucket_name: str, purpose: str) -> None:
        directory = Path(directory)
        problems = []
        if not directory.is_dir():
            problems.append(f"directory = {str(directory)!r}: not a folder; pass the assets/bootstrap folder")
        if not isinstance(purpose, str) or not _PURPOSE.fullmatch(purpose):
            problems.append(f"purpose = {purpose!r}: lower-case letters, digits and '-'")
        if not (isinstance(bucket_name, str) and Token.is_unresolved(bucket_name)):
            if (bucket_problem := validation.bucket_problem(bucket_name)) is not None:
                problems.append(f"bucket_name = {bucket_name!r}: {bucket_problem}")
        files = []
        if directory.is_dir():
            for path in sorted(directory.iterdir()):
                if path.name.startswith(".") or path.name == "__pycache__" or not path.is_file():
                    continue
                if not _FILE_NAME.fullmatch(path.name):
                    problems.append(
                        f"{path.name!r}: file names of bootstrap scripts use letters, digits, '_', '.', "
                        "'-' (they become S3 keys and resource addresses)"
                    )
                    continue
                files.append(path)
        stems = [p.stem for p in files]
        for stem in sorted({s for s in stems if stems.count(s) > 1}):
            problems.append(
                f"files {[p.name for p in files if p.stem == stem]!r} share the stem {stem!r}; the stem "
                "names the S3 object's Terraform address, so rename one"
            )
        if problems:
            raise EmrConfigError(f"BootstrapAssets {id!r}", problems)
        super().__init__(scope, id)
        self.prefix = f"{KEY_ROOT}/{purpose}/"
        self.bucket_name = bucket_name
        self._purpose = purpose
        #: Every script of the folder, by file name; only the ones an action uses are uploaded.
        self.available: dict[str, Path] = {path.name: path for path in files}
        #: The uploaded scripts, by file name.
        self.scripts: dict[str, BootstrapScript] = {}

    def _upload(self, file_name: str) -> BootstrapScript:
        """Upload ``file_name`` on first use: a stack uploads only the scripts its clusters
        run, so nothing a purpose never runs (e.g. the fixed-IP script on a stack without
        fixed IPs) sits in the bucket under its prefix or in its instance role's reach."""
        if file_name in self.scripts:
            return self.scripts[file_name]
        path = self.available[file_name]
        sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
        key = _key(self._purpose, path.name, sha256)
        asset = TerraformAsset(self, f"asset-{path.name}", path=str(path.resolve()), type=AssetType.FILE)
        obj = S3Object(
            self,
            f"object-{path.name}",
            bucket=self.bucket_name,
            key=key,
            source=asset.path,
            source_hash=sha256,
            content_type=_CONTENT_TYPES.get(path.suffix, "application/octet-stream"),
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        obj.override_logical_id(f"bootstrap_{path.stem}")
        self.scripts[path.name] = BootstrapScript(
            file_name=path.name,
            bucket=self.bucket_name,
            key=key,
            sha256=sha256,
            s3_path=f"s3://{obj.bucket}/{obj.key}",
            object=obj,
        )
        return self.scripts[path.name]

    def action(
        self, file_name: str, *, args: tuple[str, ...] | list[str] = (), name: str | None = None
    ) -> BootstrapAction:
        """A BootstrapAction running ``file_name`` with ``args`` followed by
        ``--script-sha256 <first 16 hex of its sha256>`` (a script edit then replaces the
        clusters that run it); name defaults to the file's stem."""
        if file_name not in self.available:
            raise EmrConfigError(
                f"BootstrapAssets {self.node.id!r}",
                [
                    f"file_name = {file_name!r}: not in the bootstrap folder; available: "
                    f"{', '.join(sorted(self.available)) or 'none'}"
                ],
            )
        script = self._upload(file_name)
        return BootstrapAction(
            name=name or Path(file_name).stem,
            bucket=script.bucket,
            key=script.key,
            args=(*args, SCRIPT_HASH_ARG, script.sha256[:HASH_HEX]),
            path=script.s3_path,
        )
