"""A time limit per test, for bench/device_check.sh (pytest-timeout may be missing on the
device machine, and nothing can be installed there):

    PYTHONPATH=bench/plugins python -m pytest -p per_test_timeout --per-test-timeout 30 -v

Each phase of a test (setup, call, teardown) still running after SECONDS fails with
"per-test timeout", its traceback showing where it was, and the run goes on with the next
test. That needs the interpreter to get control back: a test stuck inside one C call (a hung
kernel, a deadlock) is not interrupted by it. So, as a last resort, a test still running
after twice SECONDS ends the whole process: every thread's traceback goes to the terminal
and the exit status is 1. With ``-v`` the name of each test is printed when it starts, so the
log names the test that hung either way.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
import threading

import pytest

_STREAM = pytest.StashKey()


def pytest_addoption(parser):
    parser.addoption("--per-test-timeout", type=float, default=0.0, metavar="SECONDS",
                     help="fail a test phase that runs past SECONDS; end the run when one "
                          "runs past twice SECONDS (0: no limit)")


def pytest_configure(config):
    if config.getoption("per_test_timeout") > 0:
        try:  # the terminal's stderr, beside pytest's capture of fd 2 during a test
            config.stash[_STREAM] = os.fdopen(os.dup(sys.__stderr__.fileno()), "w")
        except (AttributeError, OSError, ValueError):  # no stderr: no last resort
            config.stash[_STREAM] = None


def pytest_unconfigure(config):
    stream = config.stash.get(_STREAM, None)
    if stream is not None:
        stream.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    seconds = item.config.getoption("per_test_timeout")
    stream = item.config.stash.get(_STREAM, None)
    if seconds <= 0 or stream is None:
        yield
        return
    faulthandler.dump_traceback_later(2 * seconds, exit=True, file=stream)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def _limit(item, phase):
    seconds = item.config.getoption("per_test_timeout")
    if seconds <= 0 or threading.current_thread() is not threading.main_thread() \
            or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        pytest.fail(f"per-test timeout: {phase} of {item.nodeid} ran past {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    yield from _limit(item, "setup")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    yield from _limit(item, "call")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    yield from _limit(item, "teardown")
