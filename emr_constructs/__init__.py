"""emr-cdktf construct library: reusable pieces for production EMR clusters.

Named ``emr_constructs`` (not ``constructs``) because a top-level package called
``constructs`` shadows the library that cdktf itself imports.

Submodules import the AWS provider bindings lazily (each module imports only what it
uses); pure-Python helpers such as ``emr_constructs.model.pricing`` import no cdktf at all, so
the ops command can share them without paying for the provider bindings.

The package's import also installs the framework seam (``emr_constructs.framework``): with
``EMR_CDKTF_FRAMEWORK=cdktn`` every later ``import cdktf`` is served by CDK Terrain.
"""

from emr_constructs import framework as _framework

_framework.install()
