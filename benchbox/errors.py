"""Errors that reach the user: each says what is wrong and how to fix it."""

from __future__ import annotations


class BenchboxError(Exception):
    """A problem the user can fix; the CLI prints it as one line and exits with code 2."""

    def __init__(self, problem: str, hint: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.hint = hint

    def __reduce__(self) -> tuple:  # survives pickling from worker processes, whatever the subclass takes
        return (BenchboxError, (self.problem, self.hint))

    def __str__(self) -> str:
        return f"{self.problem}; {self.hint}" if self.hint else self.problem


class UnknownNameError(BenchboxError):
    """A suite, model, metric or loss name that is not registered."""

    def __init__(self, kind: str, name: str, known: list[str]) -> None:
        choices = ", ".join(sorted(known)) or "(none registered)"
        super().__init__(f"unknown {kind} '{name}'", f"choose one of: {choices}")


class SuiteFileError(BenchboxError):
    """A suite file that cannot be read as a benchbox Suite."""


class StoreError(BenchboxError):
    """The result store cannot be opened, read or written."""


class DeviceError(BenchboxError):
    """A device that was asked for but is not there."""
