#!/usr/bin/env python
"""cdktf entry point: synthesizes every stack of the chosen environment.

The environment is ``environments/example.toml`` unless ``EMR_CDKTF_ENV`` names another
(a name under environments/ or a path to a TOML file). Settings are validated before any
construct is created, so bad settings write nothing.
"""

import sys

from environments.settings import SettingsError, load_environment


def main() -> int:
    try:
        settings = load_environment()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    # Imported after validation: the provider bindings cost seconds to load.
    from emr_constructs.emr_cluster import EmrConfigError
    from emr_constructs.fixed_ip import FixedIpError
    from stacks.app import build_app

    try:
        app = build_app(settings)
    except (EmrConfigError, FixedIpError) as exc:
        print(exc, file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
