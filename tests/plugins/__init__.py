"""pytest plugins the suite registers once, in tests/conftest.py (`pytest_plugins`)."""
