"""The package's executables as processes: their output awaited line by line, with deadlines; signals sent."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


class Executable:
    """One executable of .venv/bin running from the source tree, its stdout and stderr collected as they come."""

    def __init__(self, name, *args):
        exe = BIN / name
        if not exe.exists():
            raise AssertionError('%s missing: run `make setup`' % exe)
        # The source tree first, as pytest imports it: new modules need no reinstall.
        env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED='1')
        # SIGINT as a terminal leaves it: a shell starts background jobs with it ignored, and children inherit that.
        self.process = subprocess.Popen([str(exe), *args], env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, start_new_session=True,
                                        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self._text = ''
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        # Chunks rather than lines: a progress bar rewrites its line without ending it.
        for chunk in iter(lambda: os.read(self.process.stdout.fileno(), 4096), b''):
            with self._changed:
                self._text += chunk.decode(errors='replace')
                self._changed.notify_all()
        with self._changed:
            self._text += '\0'  # the end of the output
            self._changed.notify_all()

    @property
    def output(self):
        with self._changed:
            return self._text.rstrip('\0')

    def wait_for(self, text, timeout=60.0):
        """Block until ``text`` appears in the output; AssertionError with the output when the process ends first
        or after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while text not in self._text:
                left = deadline - time.monotonic()
                if left <= 0 or self._text.endswith('\0'):
                    raise AssertionError('no %r from %s (exit status %s); output:\n%s' % (
                        text, self.process.args[0], self.process.poll(), self._text[-3000:]))
                self._changed.wait(left)

    def stop(self, signum=signal.SIGINT, timeout=30.0):
        """Send ``signum`` and wait for the exit; the exit status (the process is killed after ``timeout`` s)."""
        self.process.send_signal(signum)
        return self.wait(timeout)

    def wait(self, timeout=30.0):
        """The exit status, once the process ends and its output is read; killed after ``timeout`` seconds."""
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError('%s did not exit within %g s; output:\n%s' % (
                self.process.args[0], timeout, self.output[-3000:])) from None
        with self._changed:
            self._changed.wait_for(lambda: self._text.endswith('\0'), timeout=10.0)
        return self.process.returncode

    def kill(self):
        """End the process if it still runs (clean-up after a failed test)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
