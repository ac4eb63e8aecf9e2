"""EmrBaseStack: what every stack of the app has in common.

The AWS provider with the environment's region and default tags, and the backend: local
state by default, or an encrypted S3 backend with one key per stack (and S3-native
locking through ``use_lockfile``) when the environment names a state bucket. Both carry
the environment's name, so two environments never share a state.
"""

from __future__ import annotations

from cdktf import LocalBackend, S3Backend, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags, AwsProviderIgnoreTags
from constructs import Construct

from emr_constructs.framework import AWS_PROVIDER_SOURCE, AWS_PROVIDER_VERSION
from emr_constructs.model.contract import ENVIRONMENT_TAG, OPERATIONS_TAGS, PROJECT, STACK_TAG, s3_state_key
from emr_constructs.model.layout import local_state_path
from environments.settings import Settings


class EmrBaseStack(TerraformStack):
    """Base for all stacks. ``stack_name`` is also the folder under cdktf.out/stacks/ (its
    environment's folder below it, see ``stacks.app.EnvironmentApp``) and the
    state key, so it is a contract: renaming a stack orphans its state."""

    def __init__(self, scope: Construct, stack_name: str, *, settings: Settings) -> None:
        super().__init__(scope, stack_name)
        self.settings = settings
        self.stack_name = stack_name
        self.tags = {
            "project": PROJECT,
            ENVIRONMENT_TAG: settings.name,
            STACK_TAG: stack_name,
            "managed-by": "cdktf",
        }
        AwsProvider(
            self,
            "aws",
            region=settings.region,
            allowed_account_ids=[settings.account_id],
            default_tags=[AwsProviderDefaultTags(tags=self.tags)],
            ignore_tags=[AwsProviderIgnoreTags(keys=list(OPERATIONS_TAGS))],
        )
        # The app's provider pin, not the one the binding package was generated from, and
        # its source in full (cdktf writes the shorthand "aws", CDK Terrain "hashicorp/aws";
        # one address for Terraform): both frameworks synthesize the same block.
        self.add_override("terraform.required_providers.aws.source", AWS_PROVIDER_SOURCE)
        self.add_override("terraform.required_providers.aws.version", AWS_PROVIDER_VERSION)
        if settings.state_bucket:
            backend = S3Backend(
                self,
                bucket=settings.state_bucket,
                key=s3_state_key(settings.name, stack_name),
                region=settings.region,
                encrypt=True,
            )
            # cdktf 0.21 predates S3-native locking; the option is passed through as is.
            backend.add_override("use_lockfile", True)
        else:
            LocalBackend(self, path=local_state_path(settings.name, stack_name))
