"""Builds the whole app for one environment: the foundation stack and one stack per purpose."""

from __future__ import annotations

from cdktf import App

from environments.settings import Settings
from stacks.foundation import FoundationStack
from stacks.purpose import PURPOSES, PurposeStack


def build_app(settings: Settings, *, outdir: str | None = None) -> App:
    app = App(outdir=outdir) if outdir else App()
    FoundationStack(app, settings=settings)
    for purpose in PURPOSES:
        PurposeStack(app, purpose, settings=settings)
    return app
