"""Drives a program under a pseudo-terminal for spec/repl_spec.lua.

usage: python3 pty_driver.py PROGRAM [ARG ...] < steps.json

steps.json is a JSON array of steps, run in order:
  {"send": TEXT}                       write TEXT to the terminal
  {"expect": REGEX, "timeout": S}      wait up to S seconds (default 5) until the
                                       output since the previous match matches
  {"signal": "INT"}                    send a signal to the program
  {"sleep": S}                         pause S seconds (output keeps being collected)
  {"exit": S}                          wait up to S seconds for the program to exit
Prints one JSON object: {"ok", "failed" (the index of the step that failed, 1-based),
"screen" (all output), "status" (exit status, or null), "elapsed" (seconds per step)}.
The program is killed at the end if still running: nothing here can hang.
"""
import json
import os
import pty
import re
import select
import signal
import sys
import time


def main():
    steps = json.load(sys.stdin)
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(sys.argv[1], sys.argv[1:])
    screen, cursor, status = b"", 0, None
    result = {"ok": True, "failed": None, "elapsed": []}

    def pump(deadline):
        nonlocal screen
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            ready, _, _ = select.select([fd], [], [], min(left, 0.05))
            if ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    data = b""
                if not data:
                    return True  # the terminal closed: the program ended
                screen += data
                return True

    for i, step in enumerate(steps, 1):
        t0 = time.monotonic()
        ok = True
        if "send" in step:
            os.write(fd, step["send"].encode())
        elif "signal" in step:
            os.kill(pid, getattr(signal, "SIG" + step["signal"]))
        elif "expect" in step:
            pattern = re.compile(step["expect"].encode())
            deadline = t0 + step.get("timeout", 5)
            while True:
                m = pattern.search(screen, cursor)
                if m:
                    cursor = m.end()
                    break
                if time.monotonic() >= deadline:
                    ok = False
                    break
                if not pump(deadline):
                    continue
        elif "sleep" in step:
            deadline = t0 + step["sleep"]
            while time.monotonic() < deadline:
                pump(deadline)
        elif "exit" in step:
            deadline = t0 + step["exit"]
            while status is None and time.monotonic() < deadline:
                pump(min(deadline, time.monotonic() + 0.05))
                done, raw = os.waitpid(pid, os.WNOHANG)
                if done:
                    status = os.waitstatus_to_exitcode(raw)
            ok = status is not None
        result["elapsed"].append(round(time.monotonic() - t0, 3))
        if not ok:
            result["ok"], result["failed"] = False, i
            break
    if status is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    result["status"] = status
    result["screen"] = screen.decode("utf-8", "replace")
    print(json.dumps(result))


main()
