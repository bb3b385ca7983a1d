"""Each connector kind's contract sample (tests/test_contracts.py), one module a kind, with what
its own test module shares with it: recorded answers and how to serve them, a real store.

The kinds are listed, by hand, in tests/helpers/contract_samples.py.
"""
