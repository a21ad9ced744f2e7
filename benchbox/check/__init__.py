"""`benchbox check`: a noise-aware regression gate for CI, and the engine canary.

- `tolerance`: a value's summary over seeds and the one-sided rule that calls a fresh summary REGRESSED (pure math).
- `baseline`: the baseline file (what defines the protocol, and each value's summary over seeds), read and written.
- `collect`: runs a suite's cells through the Runner (or reuses a store's complete ones) and reads their values back.
- `compare`: a baseline against fresh values: protocol mismatches (refused), environment warnings, verdicts.
- `table`: the verdict table, as text or Markdown.
- `engine` and `golden`: the engine canary: fixed inputs through every offline feature space and metric family,
  compared with golden values at stated tolerances.

docs/check.md explains the tolerance, the file formats and the exit codes.
"""
