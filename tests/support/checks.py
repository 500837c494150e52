"""What the Python test scripts share: a check that prints and records, a free loopback port,
and the summary that sets the exit status."""
import socket

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def summary(name):
    """Prints the outcome; returns the exit status (1 if any check failed)."""
    if failures:
        print(f"{name}: {len(failures)} check(s) failed", flush=True)
        return 1
    print(f"{name}: all passed", flush=True)
    return 0
