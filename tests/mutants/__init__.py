"""Mutant backends: the sqlite reference with one behaviour changed each, as a backend author
would get it wrong, one per kind of promise the protocol states. ``idemrace validate`` at its
default settings must catch every one of them, every time (``tests/test_mutants.py``,
``benchmarks/validate_power.py``).

They live with the tests, not among the built-in backends: they are fixtures of the harness, and
a user reaches them the way a user reaches their own backend, ``module.path:ClassName`` from the
checkout (``idemrace validate tests.mutants.zoo:ClaimRace``), which also exercises the loading of
user code in the kill fault's client process.
"""

from tests.mutants.zoo import MUTANTS, Mutant

__all__ = ["MUTANTS", "Mutant"]
