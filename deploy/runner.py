"""terraform in one synthesized stack folder, for the guarded deploy.

Output streams to the console as Terraform prints it (an apply of an EMR cluster takes
10+ minutes on AWS; nobody should stare at a silent terminal) and is kept for the
deploy to read errors from: a held state lock, ``prevent_destroy``, a stale saved plan.

Interrupts: terraform runs in a process group of its own, so the deploy decides what an
interrupt means. The first SIGINT/SIGTERM the deploy receives is passed on as one SIGINT
(Terraform stops gracefully: it waits for the calls in flight and writes what they
created to the state, marking half-created resources *tainted*). Further signals within
``REPEAT_WINDOW`` seconds are the same cancellation (a CI runner signals every process of
the job, several times) and are not passed on; a later one is (Terraform then stops at
once). Killing terraform outright is what loses track of
resources it was creating; the next deploy looks for those (``deploy.recovery``).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

TERRAFORM_VARIABLE = "EMR_CDKTF_TERRAFORM"
# Seconds within which further interrupts are one cancellation, not a second request.
REPEAT_WINDOW = 15.0


class TerraformError(RuntimeError):
    def __init__(self, args: list[str], folder: Path, returncode: int, output: str) -> None:
        super().__init__(f"`terraform {' '.join(args)}` in {folder} exited {returncode}")
        self.args_ = args
        self.folder = folder
        self.returncode = returncode
        self.output = output


@dataclass(frozen=True)
class LockInfo:
    """Who holds a stack's state lock (Terraform's "Lock Info")."""

    lock_id: str
    path: str
    operation: str
    who: str
    created: str


_LOCK_FIELD = re.compile(r"^\s*(ID|Path|Operation|Who|Created):\s*(.*?)\s*$", re.MULTILINE)


def lock_info(output: str) -> LockInfo | None:
    """The lock holder from terraform's "Error acquiring the state lock" output, if that is
    why it failed."""
    if "Error acquiring the state lock" not in output:
        return None
    fields = dict(_LOCK_FIELD.findall(output.split("Lock Info:", 1)[-1]))
    return LockInfo(
        fields.get("ID", "?"),
        fields.get("Path", "?"),
        fields.get("Operation", "?"),
        fields.get("Who", "?"),
        fields.get("Created", "?"),
    )


def prevents_destroy(output: str) -> list[str]:
    """Addresses Terraform refused to destroy because the code keeps ``prevent_destroy``."""
    return re.findall(r"Resource (\S+) has\s+lifecycle\.prevent_destroy set", output)


def terraform_binary() -> str:
    return os.environ.get(TERRAFORM_VARIABLE) or "terraform"


@dataclass
class Terraform:
    """terraform commands in one stack folder. ``echo`` receives every output line
    (the console by default); ``env`` is added to the process environment."""

    folder: Path
    env: dict[str, str] = field(default_factory=dict)
    echo: TextIO | None = None
    lock_timeout: str = "0s"
    interrupted: bool = False

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({"TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"})
        env.update(self.env)
        return env

    def run(self, *args: str, ok: tuple[int, ...] = (0,), quiet: bool = False) -> subprocess.CompletedProcess:
        command = [terraform_binary(), *args]
        process = subprocess.Popen(
            command,
            cwd=self.folder,
            env=self._environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        lines: list[str] = []
        echo = None if quiet else (self.echo or sys.stdout)

        def pump() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                lines.append(line)
                if echo is not None:
                    echo.write("    " + line)
                    echo.flush()

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        restore = self._forward_interrupts(process)
        try:
            process.wait()
            reader.join()
        finally:
            restore()
        output = "".join(lines)
        if process.returncode not in ok:
            raise TerraformError(list(args), self.folder, process.returncode, output)
        return subprocess.CompletedProcess(command, process.returncode, output, "")

    def _forward_interrupts(self, process: subprocess.Popen) -> Callable[[], None]:
        if threading.current_thread() is not threading.main_thread():
            return lambda: None

        received: list[float] = []

        def forward(signum: int, _frame: object) -> None:
            self.interrupted = True
            now = time.monotonic()
            name = signal.Signals(signum).name
            if received and now - received[0] < REPEAT_WINDOW:
                # A runner that cancels sends several signals within seconds (SIGINT, then
                # SIGTERM, to every process of the job); a second interrupt makes Terraform
                # drop everything at once, so only one deliberate repeat is passed on.
                print(f"{name}: terraform is already stopping; waiting for it", file=sys.stderr, flush=True)
                return
            again = bool(received)
            received[:] = [now]
            print(
                f"\n{name}: "
                + (
                    "asked again: terraform stops at once (what it was creating may be left untracked)."
                    if again
                    else "asking terraform to stop gracefully (it writes what it created to the state)."
                )
                + " The next deploy of this stack recovers from what is left.",
                file=sys.stderr,
                flush=True,
            )
            try:
                process.send_signal(signal.SIGINT)
            except ProcessLookupError:
                pass

        previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}

        def restore() -> None:
            for s, handler in previous.items():
                signal.signal(s, handler)

        return restore

    # --- commands the deploy uses ---------------------------------------------------------

    def init(self) -> None:
        self.run("init", "-input=false", "-no-color", f"-lock-timeout={self.lock_timeout}", quiet=True)

    def plan(self, out: Path) -> bool:
        """``terraform plan -out``; True when it has changes (``-detailed-exitcode``)."""
        result = self.run(
            "plan",
            "-input=false",
            "-no-color",
            "-detailed-exitcode",
            f"-lock-timeout={self.lock_timeout}",
            f"-out={out}",
            ok=(0, 2),
        )
        return result.returncode == 2

    def show_json(self, planfile: Path | None = None) -> dict:
        args = ["show", "-json", "-no-color"] + ([str(planfile)] if planfile else [])
        return json.loads(self.run(*args, quiet=True).stdout)

    def apply(self, planfile: Path) -> None:
        self.run("apply", "-input=false", "-no-color", f"-lock-timeout={self.lock_timeout}", str(planfile))

    def untaint(self, address: str) -> None:
        self.run("untaint", "-no-color", f"-lock-timeout={self.lock_timeout}", address, quiet=True)

    def import_(self, address: str, resource_id: str) -> None:
        self.run(
            "import",
            "-input=false",
            "-no-color",
            f"-lock-timeout={self.lock_timeout}",
            address,
            resource_id,
            quiet=True,
        )

    def fill_imported(self, address: str, planned: dict) -> list[str]:
        """After ``terraform import`` of a resource this stack's own interrupted run created:
        set the attributes the provider's import leaves empty (it reads some arguments only
        when the state already has them, e.g. ``configurations_json`` of an EMR cluster) to
        what the run asked for, so the next plan compares like with like instead of
        replacing the resource. Returns the attributes filled; pushes a new state serial."""
        state = json.loads(self.run("state", "pull", quiet=True).stdout)
        rtype, name = address.split(".", 1)
        filled: list[str] = []
        for resource in state.get("resources") or []:
            if resource.get("mode") != "managed" or (resource.get("type"), resource.get("name")) != (rtype, name):
                continue
            attributes = resource["instances"][0]["attributes"]
            for key, value in planned.items():
                if value not in (None, "", [], {}) and attributes.get(key) in (None, "", [], {}):
                    attributes[key] = value
                    filled.append(key)
        if filled:
            state["serial"] = int(state.get("serial", 0)) + 1
            pushed = self.folder / "deploy-import.tfstate"
            pushed.write_text(json.dumps(state), encoding="utf-8")
            try:
                self.run("state", "push", f"-lock-timeout={self.lock_timeout}", str(pushed), quiet=True)
            finally:
                pushed.unlink(missing_ok=True)
        return sorted(filled)

    def state_resources(self) -> list[dict]:
        """The resources of the stack's current state (``terraform show -json``)."""
        state = self.show_json()
        return ((state.get("values") or {}).get("root_module") or {}).get("resources") or []
