// Jupyter's own kernel conformance suite (Debian python3-jupyter-kernel-test) on rwkv-ts: every
// check, none skipped (test/e2e/conformance/test_rwkv_ts.py gives each one its samples).
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { jupyterEnv, ROOT } from "./jupyter-env";

const PYTHON = "/usr/bin/python3";

function missingSuite(): string | undefined {
  const r = spawnSync(PYTHON, ["-c", "import jupyter_kernel_test"], { encoding: "utf8" });
  if (r.error || r.status !== 0) return "jupyter_kernel_test is not installed (apt: python3-jupyter-kernel-test)";
  return undefined;
}

test("jupyter_kernel_test passes every check on rwkv-ts", { skip: missingSuite(), timeout: 300_000 }, (t) => {
  const j = jupyterEnv();
  try {
    const r = spawnSync(PYTHON, ["-m", "unittest", "-v", "test_rwkv_ts"], {
      cwd: path.join(ROOT, "test", "e2e", "conformance"),
      env: { ...j.env, PYTHONDONTWRITEBYTECODE: "1" },
      encoding: "utf8",
      timeout: 280_000,
    });
    const out = `${r.stdout}\n${r.stderr}`;
    const ran = /Ran (\d+) tests?/.exec(out);
    t.diagnostic(ran ? ran[0] : "no test count");
    for (const line of out.split("\n").filter((l) => / \.\.\. /.test(l))) t.diagnostic(line.trim());
    assert.equal(r.status, 0, out);
    assert.ok(ran && Number(ran[1]) >= 12, out); // the 12 checks of jupyter_kernel_test 0.4.5
    assert.doesNotMatch(out, /skipped/i, "a check was skipped");
  } finally {
    j.cleanup();
  }
});
