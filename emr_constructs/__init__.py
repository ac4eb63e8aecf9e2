"""emr-cdktf construct library: reusable pieces for production EMR clusters.

Named ``emr_constructs`` (not ``constructs``) because a top-level package called
``constructs`` shadows the library that cdktf itself imports.

Submodules import the AWS provider bindings lazily (each module imports only what it
uses); pure-Python helpers such as ``emr_constructs.pricing`` import no cdktf at all, so
the ops command can share them without paying for the provider bindings.
"""
