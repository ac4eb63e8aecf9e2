"""Real Terraform, offline: find the CLI and the AWS provider plugin, write the project's own
CLI configuration and override files, and run terraform in a synthesized stack folder.

Used by the terraform test tier (``tests/terraform/``), by ``make validate`` and by
``make sandbox``. Nothing here rewrites a synthesized ``cdk.tf.json``: everything Terraform
needs to run offline goes into files of its own.

Where things come from:

- ``terraform``: ``$EMR_CDKTF_TERRAFORM`` if set, else ``terraform`` on ``PATH``.
- The ``hashicorp/aws`` plugin: a *filesystem mirror* (a folder laid out as
  ``registry.terraform.io/hashicorp/aws/<version>/<os>_<arch>/terraform-provider-aws_*``,
  which ``terraform providers mirror DIR`` writes on a machine with registry access).
  ``$EMR_CDKTF_PROVIDER_MIRROR`` names it; otherwise the usual places are searched:
  Terraform's implied local mirrors (``~/.terraform.d/plugins``,
  ``$XDG_DATA_HOME/terraform/plugins`` and each ``$XDG_DATA_DIRS/terraform/plugins``),
  ``$TF_PLUGIN_CACHE_DIR``, ``<prefix>/share/terraform/plugins`` beside the terraform
  binary, and any direct sub-folder of ``/opt`` that holds such a layout (machine images
  often keep one there). The newest version found wins.
- Which of the two: ``$EMR_CDKTF_PROVIDER_SOURCE``. ``mirror`` (the default, offline, as on
  a development machine without registry access): the mirror's newest version, found as
  above. ``registry`` (the GitHub workflow, any machine with registry access): no mirror is
  searched; ``terraform init`` downloads exactly the version the app pins
  (``emr_constructs.framework.AWS_PROVIDER_VERSION``).
- The pin check: ``pin_difference`` says when the provider the tier uses is not the one the
  app pins. Only a mirror may substitute another version, and only one declared with its
  reason in ``devtools/provider_substitutes.toml`` (this machine: 5.100.0);
  ``tests/terraform/test_provider_pin.py`` fails otherwise, and ``describe()`` (printed at
  the start of a test run, by ``make validate`` and ``make sandbox``) warns.
- The CLI configuration: ``write_cli_config`` writes one that installs every
  ``registry.terraform.io`` provider from that mirror only (never the network) and shares
  one plugin cache (``plugin_cache_dir``), so each stack's ``terraform init`` only links
  the provider instead of copying its ~700 MB (and never re-creates the cache entry under a
  terraform running elsewhere: ``plugin_cache_may_break_dependency_lock_file``). ``TF_CLI_CONFIG_FILE`` points at it for
  every run. With the registry source it only sets the plugin cache.
- The provider version: the synthesized JSON pins the version the Python bindings were
  generated from; the mirror may hold another. ``write_override`` writes
  ``zz_offline_override.tf.json`` beside ``cdk.tf.json`` (Terraform merges ``*_override``
  files over the configuration) pinning ``required_providers.aws`` to the mirror's
  version, plus whatever else the caller needs (a local backend, stand-in provider
  settings). The pin in ``cdk.tf.json`` stays for users.

API:

- ``find_toolchain() -> Toolchain`` (raises ``ToolchainMissing`` whose message says what is
  missing and how to get it); ``Toolchain.terraform``, ``.mirror``, ``.provider_version``,
  ``.describe()``.
- ``Toolchain.cli_config(workdir) -> Path``: writes ``terraformrc`` and the shared plugin
  cache under ``workdir`` (idempotent).
- ``write_override(stack_dir, provider_version, *, backend_path=None, provider=None)``.
- ``Terraform(toolchain, stack_dir, cli_config)``: ``init()``, ``validate()``,
  ``plan(out=..., detailed_exitcode=...)``, ``show_json(planfile)``, ``apply()``,
  ``destroy()``, ``state_list()``, ``run(*args)``; each raises ``TerraformFailed`` with the
  command and its output when terraform fails.
- ``validate_stacks(stacks_root, workdir)``: copy every stack folder of a synthesized app
  (``cdktf.out/stacks/<stack>/<env>``, found by its manifest) into ``workdir`` untouched, add the override, ``init`` and
  ``validate`` each; the user's ``cdktf.out`` is never written to. ``python -m
  devtools.toolchain validate [cdktf.out]`` runs it (``make validate``); ``python -m
  devtools.toolchain check`` says whether the tier will run here, or what is missing.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TERRAFORM_VARIABLE = "EMR_CDKTF_TERRAFORM"
MIRROR_VARIABLE = "EMR_CDKTF_PROVIDER_MIRROR"
SOURCE_VARIABLE = "EMR_CDKTF_PROVIDER_SOURCE"
SOURCES = ("mirror", "registry")
SUBSTITUTES_FILE = Path(__file__).resolve().parent / "provider_substitutes.toml"
PROVIDER_ADDRESS = "registry.terraform.io/hashicorp/aws"
OVERRIDE_FILE = "zz_offline_override.tf.json"
# Where make validate / make sandbox keep the CLI config and plugin cache (git-ignored).
DEFAULT_WORKDIR = ROOT / ".terraform-local"

_VERSION = re.compile(r"^\d+\.\d+\.\d+$")


class ToolchainMissing(RuntimeError):
    """terraform or the provider plugin is not available; the message says how to get it."""


class ProviderSourceError(ValueError):
    """``EMR_CDKTF_PROVIDER_SOURCE`` holds a value that is not a source: refused, never skipped."""


class TerraformFailed(RuntimeError):
    def __init__(self, args: list[str], cwd: Path, returncode: int, output: str):
        self.args_run = args
        self.returncode = returncode
        self.output = output
        super().__init__(f"`terraform {' '.join(args)}` in {cwd} exited {returncode}:\n{output[-6000:]}")


def _platform() -> str:
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{sys.platform.replace('linux2', 'linux')}_{arch}"


def mirror_candidates() -> list[Path]:
    """Folders that may hold a filesystem mirror, in the order they are searched."""
    home = Path.home()
    places: list[Path] = [home / ".terraform.d" / "plugins"]
    data_home = os.environ.get("XDG_DATA_HOME") or str(home / ".local" / "share")
    places.append(Path(data_home) / "terraform" / "plugins")
    for data_dir in (os.environ.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share").split(":"):
        if data_dir:
            places.append(Path(data_dir) / "terraform" / "plugins")
    if os.environ.get("TF_PLUGIN_CACHE_DIR"):
        places.append(Path(os.environ["TF_PLUGIN_CACHE_DIR"]))
    found = shutil.which("terraform")
    if found:
        places.append(Path(found).resolve().parent.parent / "share" / "terraform" / "plugins")
    opt = Path("/opt")
    if opt.is_dir():
        places.extend(sorted(p for p in opt.iterdir() if p.is_dir()))
    return places


def provider_versions(mirror: Path) -> list[str]:
    """Versions of hashicorp/aws for this platform in an (unpacked) filesystem mirror."""
    versions = []
    base = mirror / PROVIDER_ADDRESS
    if not base.is_dir():
        return []
    for version_dir in base.iterdir():
        if _VERSION.match(version_dir.name) and any((version_dir / _platform()).glob("terraform-provider-aws_*")):
            versions.append(version_dir.name)
    return sorted(versions, key=lambda v: tuple(int(x) for x in v.split(".")))


def pinned_version() -> str:
    """The hashicorp/aws version the app pins (every stack's ``required_providers``)."""
    from emr_constructs.framework import AWS_PROVIDER_VERSION

    return AWS_PROVIDER_VERSION


def declared_substitutes(path: Path = SUBSTITUTES_FILE) -> dict[str, str]:
    """Provider versions a mirror may hold instead of the pin: version -> the reason given."""
    import tomllib

    if not path.is_file():
        return {}
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("substitute", [])
    return {str(e["version"]): str(e.get("reason", "")) for e in entries}


def pin_difference(
    used: str, source: str, *, pinned: str | None = None, declared: dict[str, str] | None = None
) -> str | None:
    """Why ``used`` (from ``source``) is not acceptable for the tier, or None when it is: the
    app's pin, or (from a mirror only) a version declared in provider_substitutes.toml."""
    pinned = pinned or pinned_version()
    declared = declared_substitutes() if declared is None else declared
    if used == pinned:
        return None
    if source == "mirror" and used in declared:
        return None
    where = "from the registry" if source == "registry" else "from the filesystem mirror"
    fix = (
        "the registry source always installs the pin: check the override and the lock file"
        if source == "registry"
        else f"put {pinned} into the mirror (`terraform providers mirror DIR`), run with "
        f"{SOURCE_VARIABLE}=registry, or declare {used} with its reason in {SUBSTITUTES_FILE.relative_to(ROOT)}"
    )
    return f"the tier used hashicorp/aws {used} {where}, but the app pins {pinned}; {fix}"


@dataclass(frozen=True)
class Toolchain:
    terraform: str
    terraform_version: str
    mirror: Path | None
    provider_version: str
    source: str = "mirror"

    def describe(self) -> str:
        where = f"the filesystem mirror {self.mirror}" if self.source == "mirror" else "the registry"
        return (
            f"terraform {self.terraform_version} ({self.terraform}), "
            f"hashicorp/aws {self.provider_version} from {where} ({SOURCE_VARIABLE}={self.source})"
        )

    def report(self) -> str:
        """What ``make validate``, ``make sandbox`` and a test run print first: the terraform
        and provider used, then whether that provider is the app's pin (a WARNING if not)."""
        return f"{self.describe()}\n{self.pin_note()}"

    def pin_note(self) -> str:
        """Whether the provider is the app's pin; a WARNING line when it is not."""
        pinned = pinned_version()
        if self.provider_version == pinned:
            return f"hashicorp/aws {pinned} is the version the app pins"
        declared = declared_substitutes().get(self.provider_version)
        problem = pin_difference(self.provider_version, self.source)
        if problem is None:
            return (
                f"WARNING: the app pins {pinned}, not {self.provider_version}: results hold for "
                f"{self.provider_version} (a declared substitute: {declared})"
            )
        return f"WARNING: {problem}"

    def cli_config(self, workdir: Path) -> Path:
        """Write the project's CLI configuration (offline install from the mirror, one shared
        plugin cache) under ``workdir``; return its path for ``TF_CLI_CONFIG_FILE``."""
        workdir.mkdir(parents=True, exist_ok=True)
        cache = workdir / "plugin-cache"
        cache.mkdir(exist_ok=True)
        config = workdir / "terraformrc"
        text = (
            "# Written by devtools/toolchain.py: providers come from the local mirror only.\n"
            f"plugin_cache_dir = {json.dumps(str(cache))}\n"
            # Without it, every `terraform init` of a folder with no lock file (each
            # synthesized variant) deletes and re-creates the cache entry, and a terraform
            # running at that moment in another folder fails with "fork/exec
            # .terraform/providers/...: no such file or directory" (seen with two plans at a
            # time; the cache is not concurrency-safe, Terraform's docs say). With it, init
            # links the cached provider as it is and records its hash in the new lock file.
            "plugin_cache_may_break_dependency_lock_file = true\n"
            "provider_installation {\n"
            "  filesystem_mirror {\n"
            f"    path    = {json.dumps(str(self.mirror))}\n"
            '    include = ["registry.terraform.io/*/*"]\n'
            "  }\n"
            "  direct {\n"
            '    exclude = ["registry.terraform.io/*/*"]\n'
            "  }\n"
            "}\n"
        )
        if self.source == "registry":
            # terraform's own installation: providers from their registry, into the cache.
            text = text[: text.index("provider_installation {")]
        if not config.exists() or config.read_text() != text:
            config.write_text(text)
        return config


def provider_source() -> str:
    """``EMR_CDKTF_PROVIDER_SOURCE`` (unset or empty: mirror); any other value is refused."""
    value = os.environ.get(SOURCE_VARIABLE, "").strip() or "mirror"
    if value not in SOURCES:
        raise ProviderSourceError(
            f"{SOURCE_VARIABLE}={value!r} is not a provider source; allowed: mirror (the default: a local "
            "filesystem mirror, offline) or registry (terraform init downloads the version the app pins)"
        )
    return value


def find_toolchain() -> Toolchain:
    source = provider_source()
    problems = []
    terraform = os.environ.get(TERRAFORM_VARIABLE) or shutil.which("terraform")
    version = ""
    if not terraform or not Path(terraform).exists():
        problems.append(
            "the terraform CLI is not on PATH: install Terraform 1.5 or newer (the HashiCorp "
            f"release zip or your OS package), or set {TERRAFORM_VARIABLE} to its path"
        )
    else:
        try:
            out = subprocess.run(
                [terraform, "version", "-json"], capture_output=True, text=True, timeout=60, env=_base_env(None)
            ).stdout
            version = json.loads(out)["terraform_version"]
        except (OSError, ValueError, KeyError, subprocess.TimeoutExpired) as exc:
            problems.append(f"{terraform} does not run (`terraform version -json`: {exc})")
    if source == "registry":
        if problems:
            raise ToolchainMissing("real-Terraform tier unavailable: " + "; ".join(problems))
        return Toolchain(str(terraform), version, None, pinned_version(), source)
    override = os.environ.get(MIRROR_VARIABLE)
    searched = [Path(override)] if override else mirror_candidates()
    mirror, provider = None, None
    for place in searched:
        versions = provider_versions(place)
        if versions and (provider is None or _newer(versions[-1], provider)):
            mirror, provider = place, versions[-1]
    if mirror is None:
        where = f"{MIRROR_VARIABLE}={override}" if override else "searched " + ", ".join(str(p) for p in searched)
        problems.append(
            f"no hashicorp/aws provider plugin for {_platform()} in a filesystem mirror ({where}). "
            "On a machine with registry access run `terraform providers mirror DIR` in a "
            f"synthesized stack folder (or unpack the provider release into "
            f"DIR/{PROVIDER_ADDRESS}/<version>/{_platform()}/), then set {MIRROR_VARIABLE}=DIR; "
            f"or, with registry access, set {SOURCE_VARIABLE}=registry"
        )
    if problems:
        raise ToolchainMissing("real-Terraform tier unavailable: " + "; ".join(problems))
    assert provider is not None
    return Toolchain(str(terraform), version, mirror, provider, source)


def _newer(a: str, b: str) -> bool:
    return tuple(int(x) for x in a.split(".")) > tuple(int(x) for x in b.split("."))


def write_override(
    stack_dir: Path, provider_version: str, *, backend_path: Path | None = None, provider: dict | None = None
) -> Path:
    """Write ``zz_offline_override.tf.json`` beside ``cdk.tf.json``.

    ``provider_version``: the aws version to require instead of the synthesized pin.
    ``backend_path``: replace the backend with a local one keeping state at this path (an
    absolute path lets another synthesis of the same stack plan against the same state).
    ``provider``: arguments merged over the stack's ``provider.aws`` block (stand-in
    endpoints and the like; Terraform merges override blocks argument by argument, and a
    nested block given here replaces the original's).
    """
    override: dict = {
        "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": provider_version}}}
    }
    if backend_path is not None:
        override["terraform"]["backend"] = {"local": {"path": str(backend_path)}}
    if provider:
        override["provider"] = {"aws": [provider]}
    path = stack_dir / OVERRIDE_FILE
    path.write_text(json.dumps(override, indent=2) + "\n")
    return path


def _base_env(cli_config: Path | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    # The caller's TF_* settings (another CLI config, a data dir, workspace) stay out;
    # logging switches are kept for debugging.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TF_") or k in ("TF_LOG", "TF_LOG_PATH", "TF_LOG_PROVIDER")
    }
    env.update({"CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"})
    if cli_config is not None:
        env["TF_CLI_CONFIG_FILE"] = str(cli_config)
    env.update(extra or {})
    return env


@dataclass
class Terraform:
    """terraform commands in one stack folder, with the project's CLI configuration."""

    toolchain: Toolchain
    stack_dir: Path
    cli_config: Path
    env: dict[str, str] = field(default_factory=dict)
    timeout: float = 900
    log: list[tuple[str, float]] = field(default_factory=list)

    def run(self, *args: str, ok_codes: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
        start = time.monotonic()
        result = subprocess.run(
            [self.toolchain.terraform, *args],
            cwd=self.stack_dir,
            capture_output=True,
            text=True,
            env=_base_env(self.cli_config, self.env),
            timeout=self.timeout,
        )
        self.log.append((" ".join(args[:1]), time.monotonic() - start))
        if result.returncode not in ok_codes:
            raise TerraformFailed(list(args), self.stack_dir, result.returncode, result.stdout + result.stderr)
        return result

    def init(self, *, backend: bool = True) -> None:
        args = ["init", "-input=false", "-no-color"]
        if not backend:
            args.append("-backend=false")
        self.run(*args)

    def validate(self) -> dict:
        """``terraform validate -json``; raises with the diagnostics when invalid."""
        result = self.run("validate", "-json", "-no-color", ok_codes=(0, 1))
        report = json.loads(result.stdout)
        if not report.get("valid"):
            raise TerraformFailed(
                ["validate"], self.stack_dir, result.returncode, json.dumps(report.get("diagnostics"), indent=2)
            )
        return report

    def plan(
        self,
        *,
        out: Path | None = None,
        detailed_exitcode: bool = False,
        destroy: bool = False,
        extra: tuple[str, ...] = (),
    ) -> subprocess.CompletedProcess:
        """``terraform plan``; with ``detailed_exitcode`` the result's returncode is 0 (no
        changes) or 2 (changes)."""
        args = ["plan", "-input=false", "-no-color", "-lock=false", *extra]
        if out is not None:
            args.append(f"-out={out}")
        if destroy:
            args.append("-destroy")
        if detailed_exitcode:
            args.append("-detailed-exitcode")
        return self.run(*args, ok_codes=(0, 2) if detailed_exitcode else (0,))

    def show_json(self, planfile: Path | None = None) -> dict:
        args = ["show", "-json", "-no-color"] + ([str(planfile)] if planfile else [])
        return json.loads(self.run(*args).stdout)

    def apply(self, *extra: str) -> subprocess.CompletedProcess:
        return self.run("apply", "-input=false", "-no-color", "-auto-approve", *extra)

    def destroy(self, *extra: str) -> subprocess.CompletedProcess:
        return self.run("destroy", "-input=false", "-no-color", "-auto-approve", *extra)

    def state_list(self) -> list[str]:
        result = self.run("state", "list", ok_codes=(0, 1))
        return result.stdout.split() if result.returncode == 0 else []


def validate_stacks(
    stacks_root: Path, workdir: Path, toolchain: Toolchain | None = None, *, echo=print
) -> dict[str, float]:
    """``terraform validate`` every stack under ``stacks_root`` (an ``<outdir>/stacks`` folder) as
    synthesized.

    Each stack folder is copied (without any ``.terraform``) into ``workdir/<stack>`` and
    the override added there, so the synthesized folder is never written to. Returns the
    seconds each stack took; raises ``TerraformFailed`` naming the first invalid stack after
    trying them all.
    """
    toolchain = toolchain or find_toolchain()
    cli_config = toolchain.cli_config(workdir)
    from emr_constructs.model.layout import synthesized_stacks

    folders = synthesized_stacks(stacks_root.parent)
    if not folders:
        raise FileNotFoundError(f"no synthesized stack (*/cdk.tf.json) under {stacks_root}: run `make synth`")
    echo(f"terraform validate with {toolchain.report()}")
    timings, failures = {}, []
    for name, stack in sorted(folders.items()):
        copy = workdir / "validate" / name
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(stack, copy, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", OVERRIDE_FILE))
        write_override(copy, toolchain.provider_version)
        start = time.monotonic()
        tf = Terraform(toolchain, copy, cli_config)
        try:
            tf.init(backend=False)
            tf.validate()
        except TerraformFailed as exc:
            failures.append(f"{name}: {exc}")
            echo(f"  {name}: INVALID")
            continue
        timings[name] = time.monotonic() - start
        echo(f"  {name}: valid ({timings[name]:.1f} s)")
    if failures:
        raise TerraformFailed(["validate"], stacks_root, 1, "\n".join(failures))
    return timings


def main(argv: list[str]) -> int:
    if argv[:1] == ["check"]:
        try:
            print(f"real-Terraform tier runs with {find_toolchain().report()}")
        except ToolchainMissing as exc:
            print(f"{exc} -- the tests/terraform tier will be skipped")
        except ProviderSourceError as exc:
            print(exc, file=sys.stderr)
            return 2
        return 0
    if len(argv) < 1 or argv[0] != "validate":
        print("usage: python -m devtools.toolchain validate [STACKS_ROOT_OR_CDKTF_OUT] | check", file=sys.stderr)
        return 2
    root = Path(argv[1] if len(argv) > 1 else "cdktf.out")
    if (root / "stacks").is_dir():
        root = root / "stacks"
    try:
        validate_stacks(root, DEFAULT_WORKDIR)
    except (ToolchainMissing, ProviderSourceError) as exc:
        print(exc, file=sys.stderr)
        return 3
    except (TerraformFailed, FileNotFoundError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
