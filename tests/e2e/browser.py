"""Playwright on Debian's Chromium: one browser per test session, launched offline-safe.

`playwright install` cannot download browsers here, so the tests drive /usr/bin/chromium (installed by
.ci/run). The flags keep Chromium from calling home: this machine's network is closed.
"""

from __future__ import annotations

import os
import shutil

CHROMIUM = os.environ.get("TANGRAM_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    return CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
