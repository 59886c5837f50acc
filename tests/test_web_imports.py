"""The web process starts without the training stack (docs/architecture.md): importing the
app and building it must not load torch or transformers, which cost tens of seconds."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "transformers", "peft", "sentence_transformers")

CHECK = f"""
import sys
from app.main import create_app
loaded = [name for name in {HEAVY!r} if name in sys.modules]
print(",".join(loaded))
"""


def test_the_web_app_imports_no_training_stack() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=300, check=True
    )
    assert done.stdout.strip() == "", f"the web app imports {done.stdout.strip()}"
