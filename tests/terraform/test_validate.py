"""``terraform validate`` on every stack exactly as synthesized, for the example environment
(ap-northeast-2, local state, fixed IPs held by an ENI) and a second one
(``us-east-1.toml``: us-east-1, S3 state, fixed IPs as a subnet CIDR reservation).

The stack folders are copied untouched; only an override file pinning the provider to the
mirror's version is added beside ``cdk.tf.json`` (the synthesized pin is kept for users).
"""

from __future__ import annotations

import json

import pytest

from devtools.toolchain import OVERRIDE_FILE, validate_stacks

STACKS = {"foundation", "spark-batch", "spark-stream", "service-presto"}


@pytest.fixture(params=["example", "us-east-1"])
def synthesized(request, synth, synth_us_east_1):
    return {"example": synth, "us-east-1": synth_us_east_1}[request.param]


def test_every_stack_passes_terraform_validate(synthesized, toolchain, tf_workdir):
    before = {name: (synthesized.folders[name] / "cdk.tf.json").read_bytes() for name in synthesized.stacks}
    workdir = tf_workdir / synthesized.outdir.name
    timings = validate_stacks(synthesized.outdir / "stacks", workdir, toolchain, echo=lambda _: None)

    assert STACKS <= set(timings), sorted(timings)
    assert set(timings) == set(synthesized.stacks)
    for name, content in before.items():
        copy = workdir / "validate" / name
        # Validated as synthesized: the copy's JSON is byte for byte the synthesized one,
        # and the synthesized folder got no override, lock file or .terraform of its own.
        assert (copy / "cdk.tf.json").read_bytes() == content
        assert (synthesized.folders[name] / "cdk.tf.json").read_bytes() == content
        assert not (synthesized.folders[name] / OVERRIDE_FILE).exists()
        assert not (synthesized.folders[name] / ".terraform").exists()
        # The override only swaps the version constraint for the mirror's.
        override = json.loads((copy / OVERRIDE_FILE).read_text())
        assert override == {
            "terraform": {
                "required_providers": {"aws": {"source": "hashicorp/aws", "version": toolchain.provider_version}}
            }
        }


def test_an_invalid_stack_is_reported_with_terraforms_diagnostics(synth, toolchain, tf_workdir):
    """The tier can fail: the broken depends_on form this project once shipped is rejected."""
    from devtools.toolchain import TerraformFailed

    broken_root = tf_workdir / "broken" / "stacks"
    broken = broken_root / "spark-batch"
    broken.mkdir(parents=True)
    stack = json.loads((synth.folders["spark-batch"] / "cdk.tf.json").read_text())
    (profile,) = stack["resource"]["aws_iam_instance_profile"].values()
    profile["depends_on"] = ["${" + profile["depends_on"][0] + "}"]
    (broken / "cdk.tf.json").write_text(json.dumps(stack))

    with pytest.raises(TerraformFailed) as failed:
        validate_stacks(broken_root, tf_workdir / "broken-work", toolchain, echo=lambda _: None)
    assert "A single static variable reference is required" in failed.value.output
    assert "spark-batch" in failed.value.output
