"""Clock, sleep and output of one command run, injectable so waiting tests run instantly."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, TextIO


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Runtime:
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = _utcnow
    out: TextIO = field(default_factory=lambda: sys.stdout)

    def say(self, line: str = "") -> None:
        print(line, file=self.out, flush=True)


def format_duration(seconds: float) -> str:
    """Compact age/elapsed: ``42s``, ``12m05s``, ``5h12m``, ``3d02h``."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d{(s % 86400) // 3600:02d}h"
