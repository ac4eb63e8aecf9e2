#!/usr/bin/env python
"""cdktf entry point: synthesizes every stack of the chosen environment.

The environment is ``environments/example.toml`` unless ``EMR_CDKTF_ENV`` names another
(a name under environments/ or a path to a TOML file). Settings are validated before any
construct is created, so bad settings write nothing.
"""

import os
import shutil
import sys
from pathlib import Path

from environments.settings import SettingsError, load_environment


def main() -> int:
    try:
        settings = load_environment()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    # Imported after validation: the provider bindings cost seconds to load.
    from emr_constructs.errors import ConstructInputError
    from emr_constructs.pricing import PriceError
    from stacks.app import build_app

    # cdktf's App creates its output folder as soon as it is constructed; a build that
    # fails must not leave a new, empty one behind.
    outdir = Path(os.environ.get("CDKTF_OUTDIR", "cdktf.out"))
    existed = outdir.exists()
    try:
        app = build_app(settings)
    except (ConstructInputError, PriceError) as exc:
        if not existed:
            shutil.rmtree(outdir, ignore_errors=True)
        print(exc, file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
