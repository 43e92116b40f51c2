// `rwkv-nb kernel install/uninstall` writes a kernelspec Jupyter lists, with absolute paths.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT, missingJupyter } from "./jupyter-env";

const cli = (args: string[], env: NodeJS.ProcessEnv) =>
  spawnSync(process.execPath, [path.join(ROOT, "bin", "rwkv-nb.js"), "kernel", ...args], { encoding: "utf8", env });

test("kernel install --prefix writes rwkv-ts with absolute paths, signal interrupts and logos", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-spec-"));
  try {
    const r = cli(["install", "--prefix", dir], process.env);
    assert.equal(r.status, 0, r.stderr);
    const specDir = path.join(dir, "share", "jupyter", "kernels", "rwkv-ts");
    const spec = JSON.parse(fs.readFileSync(path.join(specDir, "kernel.json"), "utf8")) as {
      argv: string[];
      interrupt_mode: string;
      language: string;
    };
    assert.equal(spec.argv[0], process.execPath);
    assert.ok(path.isAbsolute(spec.argv[1]) && fs.existsSync(spec.argv[1]));
    assert.deepEqual(spec.argv.slice(2), ["kernel", "start", "--connection-file", "{connection_file}"]);
    assert.equal(spec.interrupt_mode, "signal");
    assert.equal(spec.language, "typescript");
    for (const logo of ["logo-32x32.png", "logo-64x64.png", "logo-svg.svg"])
      assert.ok(fs.existsSync(path.join(specDir, logo)), logo);
    const u = cli(["uninstall", "--prefix", dir], process.env);
    assert.equal(u.status, 0, u.stderr);
    assert.equal(fs.existsSync(specDir), false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test(
  "kernel install --user honours JUPYTER_DATA_DIR and `jupyter kernelspec list` shows rwkv-ts",
  { skip: missingJupyter("kernelspec") },
  () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rwkv-spec-"));
    const env = {
      ...process.env,
      JUPYTER_DATA_DIR: path.join(dir, "data"),
      JUPYTER_PATH: path.join(dir, "path"),
      JUPYTER_CONFIG_DIR: path.join(dir, "config"),
      JUPYTER_RUNTIME_DIR: path.join(dir, "runtime"),
    };
    try {
      assert.equal(cli(["install", "--user"], env).status, 0);
      const list = spawnSync("jupyter", ["kernelspec", "list", "--json"], { encoding: "utf8", env });
      const specs = (JSON.parse(list.stdout) as { kernelspecs: Record<string, { resource_dir: string }> }).kernelspecs;
      assert.equal(specs["rwkv-ts"]?.resource_dir, path.join(dir, "data", "kernels", "rwkv-ts"));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);

test("kernel with bad arguments fails with a clear message", () => {
  const r = cli(["install", "--user", "--prefix", "/tmp/x"], process.env);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /only one of --user, --sys-prefix, --prefix/);
  const s = cli(["start", "--connection-file", "/no/such/connection.json"], process.env);
  assert.notEqual(s.status, 0);
  assert.match(s.stderr, /cannot read connection file \/no\/such\/connection\.json/);
});
