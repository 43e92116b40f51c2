// jupyter-console (Debian jupyter-console) on rwkv-ts in a pseudo-terminal: live views end with a
// text frame, top-level for await, process.exit, exit, input history across sessions.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { jupyterEnv, missingJupyter, ROOT } from "./jupyter-env";

const PYTHON = "/usr/bin/python3";

function missing(): string | undefined {
  const r = spawnSync(PYTHON, ["-c", "import pexpect"], { encoding: "utf8" });
  if (r.error || r.status !== 0) return "pexpect is not installed (apt: python3-pexpect)";
  return missingJupyter("console");
}

test(
  "jupyter-console: live view text fallback, for await, process.exit, exit, history",
  { skip: missing(), timeout: 300_000 },
  (t) => {
    const j = jupyterEnv();
    try {
      const r = spawnSync(PYTHON, ["-m", "unittest", "-v", "test_console"], {
        cwd: path.join(ROOT, "test", "e2e", "console"),
        env: { ...j.env, PYTHONDONTWRITEBYTECODE: "1" },
        encoding: "utf8",
        timeout: 280_000,
      });
      const out = `${r.stdout}\n${r.stderr}`;
      for (const line of out.split("\n").filter((l) => / \.\.\. /.test(l))) t.diagnostic(line.trim());
      assert.equal(r.status, 0, out);
      assert.match(out, /Ran 2 tests/);
    } finally {
      j.cleanup();
    }
  },
);
