"""The errors the core raises for a person to act on; the CLI prints them without a traceback.

Every one derives from `MindError` and from the built-in it refines (ValueError,
FileNotFoundError, RuntimeError), so code that caught the built-in keeps working:

- `mind.config.ConfigError`: a config value, named by its dotted key.
- `mind.readers.DataError`: a bad record, named by file, line and field.
- `mind.teacher.openai_backend.TeacherError`: the teacher endpoint refused or failed.
- `mind.teacher.generate.GenerationStopped`: generation was asked to stop (resumable).
- `InputError`: an input the core cannot use (a benchmark, a probe set, an adapter).
- `NotInstalled`: a model or package the run needs is not on this machine.
"""

from __future__ import annotations


class MindError(Exception):
    """Base of every error the `mind` core raises about its inputs, config or environment."""


class InputError(MindError, ValueError):
    """An input the core cannot use: a benchmark, a probe set, an adapter, a sequence length."""


class NotInstalled(MindError, FileNotFoundError):
    """A model or package the run needs is not installed on this machine."""
