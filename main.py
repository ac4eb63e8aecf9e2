#!/usr/bin/env python
"""cdktf entry point: synthesizes every stack of the chosen environment.

The environment is ``environments/example.toml`` unless ``EMR_CDKTF_ENV`` names another
(a name under environments/ or a path to a TOML file; set but empty is refused). Settings
are validated before any construct is created, so bad settings write nothing.

``--check-settings`` validates the settings only (no provider bindings, well under a
second) and prints nothing when they are good; ``make synth`` runs it first.

Any failure before synthesis (bad settings, a construct refusing its inputs, a price
that cannot be computed, or any other exception raised by a cluster definition) ends
with a message on stderr and exit status 2, and no output folder is left behind that
was not there before. ``EMR_CDKTF_DEBUG=1`` shows the Python traceback as well.

``EMR_CDKTF_ERROR_FILE`` (set by ``make synth``) sends that message to a file instead of
stderr: cdktf prints everything a failing app wrote twice (an ``[ERROR] default -`` line,
then "Command output on stderr"), so make prints the file once, after cdktf's own
one-line failure.

Test seam: ``run(purposes=...)`` builds the app from other purpose declarations (as
``stacks.clusters.PURPOSE_DECLARATIONS``), e.g. with edited cluster definitions.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

EXIT_REFUSED = 2
DEBUG_VARIABLE = "EMR_CDKTF_DEBUG"
ERROR_FILE_VARIABLE = "EMR_CDKTF_ERROR_FILE"


def _debug() -> bool:
    return os.environ.get(DEBUG_VARIABLE, "").strip() not in ("", "0")


def _report(exc: BaseException, err: TextIO, *, library: bool) -> None:
    if _debug():
        traceback.print_exception(exc, file=err)
    if library:
        print(exc, file=err)
    else:
        # Not one of the library's own errors: a mistake in a cluster definition (a typo'd
        # keyword, a wrong type caught by the provider bindings) or in the tool itself.
        where = traceback.extract_tb(exc.__traceback__)
        frame = next((f for f in reversed(where) if "site-packages" not in f.filename), None)
        at = f" (at {_short(frame.filename)}:{frame.lineno}, in {frame.name})" if frame else ""
        print(
            f"error while building the stacks{at}: {type(exc).__name__}: {exc}\n"
            "nothing was synthesized. Check the cluster definitions in stacks/clusters.py; "
            f"set {DEBUG_VARIABLE}=1 to see the Python traceback.",
            file=err,
        )


def _short(filename: str) -> str:
    try:
        return str(Path(filename).resolve().relative_to(Path(__file__).resolve().parent))
    except ValueError:
        return filename


def run(
    *,
    purposes: Sequence | None = None,
    err: TextIO | None = None,
    out: TextIO | None = None,
    outdir: str | None = None,
    settings_only: bool = False,
) -> int:
    """``settings_only``: validate the environment's settings and stop (``make synth`` does
    this before cdktf, so a settings error is printed once: cdktf repeats everything an app
    printed when it fails). Notes go to ``out``: cdktf labels every stderr line ``[ERROR]``."""
    err = err or sys.stderr
    out_stream = out or sys.stdout
    try:
        # Installs the framework seam (EMR_CDKTF_FRAMEWORK: cdktf or cdktn) before any cdktf
        # import, and refuses a framework this Python does not hold before anything is written.
        from emr_constructs import framework

        framework.require()
    except ValueError as exc:
        _report(exc, err, library=True)
        return EXIT_REFUSED
    # Pure Python modules (no provider bindings): cheap to import before validation.
    from emr_constructs.model.errors import ConstructInputError
    from emr_constructs.model.pricing import PriceError
    from environments.settings import SettingsError, load_environment

    try:
        settings = load_environment()
    except SettingsError as exc:
        _report(exc, err, library=True)
        return EXIT_REFUSED
    except Exception as exc:  # noqa: BLE001 - every failure before synthesis is reported, not raised
        _report(exc, err, library=False)
        return EXIT_REFUSED
    if settings_only:
        return 0

    # cdktf's App creates its output folder as soon as it is constructed; a build that
    # fails must not leave a new, empty one behind.
    folder = Path(outdir or os.environ.get("CDKTF_OUTDIR") or "cdktf.out")
    existed = folder.exists()
    try:
        # Imported after validation: the provider bindings cost seconds to load.
        from stacks.app import build_app, price_fallback_notes

        app = build_app(settings, outdir=outdir, **({} if purposes is None else {"purposes": purposes}))
        notes = price_fallback_notes(app)
    except BaseException as exc:
        if not existed:
            shutil.rmtree(folder, ignore_errors=True)
        if isinstance(exc, KeyboardInterrupt):
            print("interrupted; nothing was synthesized", file=err)
            return 130
        if not isinstance(exc, Exception):
            raise
        _report(exc, err, library=isinstance(exc, (ConstructInputError, PriceError, SettingsError)))
        return EXIT_REFUSED
    for note in notes:
        print(f"note: {note}", file=out_stream)
    app.synth()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args not in ([], ["--check-settings"]):
        print(f"usage: main.py [--check-settings] (got {' '.join(args)})", file=sys.stderr)
        return EXIT_REFUSED
    settings_only = args == ["--check-settings"]
    error_file = os.environ.get(ERROR_FILE_VARIABLE, "").strip()
    if not error_file:
        return run(settings_only=settings_only)
    captured = io.StringIO()
    code = run(settings_only=settings_only, err=captured)
    if captured.getvalue():
        Path(error_file).write_text(captured.getvalue(), encoding="utf-8")
    return code


if __name__ == "__main__":
    sys.exit(main())
