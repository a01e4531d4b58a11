"""Loaded by Python at start-up in the processes of the test stack (PYTHONPATH): installs the
crash tests' fault hook when XUNCHA_FAULT_HOLD is set, and nothing otherwise."""

import os

if os.environ.get("XUNCHA_FAULT_HOLD"):
    from tests.support.faults import install

    install()
