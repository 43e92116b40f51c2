"""jupyter-console on rwkv-ts, in a pseudo-terminal (pexpect), as a person types.

Run by test/e2e/console.test.ts with a temporary JUPYTER_PATH (the rwkv-ts kernelspec) and
JUPYTER_DATA_DIR (the kernel's input history, shared by the two console sessions).
"""

import os
import time
import unittest

import pexpect

TIMEOUT = 90


def start_console():
    c = pexpect.spawn(
        "jupyter",
        ["console", "--kernel=rwkv-ts"],
        env=dict(os.environ, TERM="dumb"),
        encoding="utf-8",
        timeout=TIMEOUT,
        dimensions=(40, 200),
    )
    c.expect(r"In \[1\]")
    return c


def run(c, code, prompt):
    c.sendline(code)
    c.expect(r"In \[%d\]" % prompt)
    return c.before


class ConsoleTests(unittest.TestCase):
    def test_1_session(self):
        c = start_console()
        try:
            self.assertIn("global rwkv", c.before)
            # A live view shows its first frame, then (console only) its last one as text.
            out = run(
                c,
                'let n = 0; const live = rwkv.liveView(() => ({ "text/plain": "frame " + n, "text/html": "<b>f</b>" }),'
                " { minIntervalMs: 0 }); for (n = 1; n <= 3; n++) live.update(); live.close();",
                2,
            )
            self.assertIn("frame 1", out)
            self.assertIn("frame 4", out)
            # (The echoed input is in `out` too: look for what only running it prints.)
            code = "async function* g() { yield 'ab'; yield 'cd'; }; for await (const p of g()) console.log(p + p);"
            out = run(c, code, 3)
            self.assertIn("abab", out)
            self.assertIn("cdcd", out)
            out = run(c, "process.exit(1)", 4)
            self.assertIn("ProcessExit", out)
            self.assertIn("Kernel > Restart", out)
            # exit: the console closes and shuts the kernel down, as with IPython.
            c.sendline("exit")
            c.expect("Shutting down kernel")
            c.expect(pexpect.EOF)
        finally:
            c.close(force=True)

    def test_2_history_from_the_last_session(self):
        c = start_console()
        try:
            # Up arrow recalls the previous session's cells: exit, process.exit, for await, live view.
            for _ in range(4):
                c.send("\x1b[A")
                time.sleep(0.3)
            c.send("\r")
            c.expect(r"In \[2\]")
            self.assertIn("frame 4", c.before)
            c.sendline("quit")
            c.expect(pexpect.EOF)
        finally:
            c.close(force=True)


if __name__ == "__main__":
    unittest.main()
