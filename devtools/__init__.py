"""Development tools of the project, outside the application and outside the tests.

- ``toolchain``: real Terraform offline (the CLI, the provider from a local mirror, the
  override files); ``python -m devtools.toolchain validate|check`` (``make validate``).
- ``standin``: a stand-in AWS account on localhost (moto over https) and the helpers that
  deploy the project into it.
- ``moto_shim``: the one documented place where moto's gaps are filled, answering as AWS
  documents.
- ``sandbox``: ``make sandbox``, the whole app deployed into the stand-in to try ``ops``.

The real-Terraform test tier (``tests/terraform/``) and ``make deploy``'s stand-in tests
import these; the application never does. They may import the application's packages
(``emr_constructs``, ``environments``, ``stacks``), never the other way.
"""
