"""Fixtures of the review tests: the fixture app's base data, synthesized in-process."""

from __future__ import annotations

import pytest

from review.plan import diff, side_from_docs
from review.report import render


@pytest.fixture(autouse=True, scope="session")
def _review_cache_in_a_temporary_folder(tmp_path_factory):
    """The CLI's synthesis cache (default: the user's cache folder) lives in the session's
    temporary folder, so tests neither read nor leave entries of a real user."""
    import os

    from review.synth import CACHE_VARIABLE

    old = os.environ.get(CACHE_VARIABLE)
    os.environ[CACHE_VARIABLE] = str(tmp_path_factory.mktemp("review-cache"))
    yield
    if old is None:
        os.environ.pop(CACHE_VARIABLE, None)
    else:
        os.environ[CACHE_VARIABLE] = old


@pytest.fixture(scope="session")
def scripts_dir(tmp_path_factory):
    from tests.review.fixture_app import write_scripts

    folder = tmp_path_factory.mktemp("scripts")
    write_scripts(folder)
    return folder


@pytest.fixture(scope="session")
def synth_data(synth_stack, scripts_dir):
    """Synthesize the fixture app for a data dict (and optional scripts folder) -> cdk.tf.json."""
    from tests.review.fixture_app import build

    def _synth(data, scripts=None):
        return synth_stack(lambda app: build(app, data, scripts or scripts_dir))

    return _synth


@pytest.fixture(scope="session")
def base_doc(synth_data):
    from tests.review.fixture_app import base_data

    return synth_data(base_data())


@pytest.fixture(scope="session")
def compare(base_doc):
    """Review base_doc against another document of the same stack."""
    from tests.review.fixture_app import STACK

    def _compare(head_doc, allow=()):
        plan = diff(side_from_docs("base", {STACK: base_doc}), side_from_docs("head", {STACK: head_doc}))
        return render(plan, allow=set(allow))

    return _compare
