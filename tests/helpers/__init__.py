"""Helper modules the test files share (not test modules: nothing here is collected)."""
