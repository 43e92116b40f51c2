// The layering of kernel/: the runtime stands below the display, the Jupyter kernel and the CLI
// (only the protocol file display/bundle.ts, which imports nothing of ours, is shared), and no
// module imports itself through a chain of others. Imports are read from the sources with
// TypeScript's own pre-processor, type-only and dynamic imports included.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const KERNEL = path.join(ROOT, "kernel");
const SHARED = "display/bundle.ts";

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

/** kernel-relative path of a relative import; undefined for packages, node: modules and JSON. */
function resolveImport(from: string, spec: string): string | undefined {
  if (!spec.startsWith(".") || spec.endsWith(".json")) return undefined; // package.json, read for the version
  const base = path.resolve(path.dirname(from), spec);
  for (const p of [`${base}.ts`, path.join(base, "index.ts")]) if (fs.existsSync(p)) return path.relative(KERNEL, p);
  throw new Error(`${path.relative(KERNEL, from)}: cannot resolve import "${spec}"`);
}

/** Every kernel file with the kernel files it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(KERNEL)) {
    const info = ts.preProcessFile(fs.readFileSync(file, "utf8"), true, true);
    const deps = info.importedFiles.map((f) => resolveImport(file, f.fileName)).filter((d) => d !== undefined);
    graph.set(path.relative(KERNEL, file), [...new Set(deps)]);
  }
  return graph;
}

const graph = importGraph();

test("the import graph covers the kernel (sanity check of the parser)", () => {
  assert.ok(graph.size > 50, `${graph.size} files`);
  assert.ok(graph.get("runtime/tune/tuner.ts")?.includes("runtime/model/model.ts"));
  assert.ok(graph.get("index.ts")?.includes("display/index.ts"));
});

test("nothing under runtime/ imports display/, jupyter/ or cli/ (except display/bundle.ts)", () => {
  const bad: string[] = [];
  for (const [file, deps] of graph) {
    if (!file.startsWith("runtime/")) continue;
    for (const d of deps) if (/^(display|jupyter|cli)\//.test(d) && d !== SHARED) bad.push(`${file} → ${d}`);
  }
  assert.deepEqual(bad, []);
});

test("display/bundle.ts, shared by all layers, imports nothing of ours", () => {
  assert.deepEqual(graph.get(SHARED), []);
});

test("there is no import cycle in kernel/", () => {
  const state = new Map<string, "open" | "done">();
  const cycles: string[] = [];
  const visit = (file: string, trail: string[]): void => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "open") {
      cycles.push([...trail.slice(trail.indexOf(file)), file].join(" → "));
      return;
    }
    state.set(file, "open");
    for (const d of graph.get(file) ?? []) visit(d, [...trail, file]);
    state.set(file, "done");
  };
  for (const file of [...graph.keys()].sort()) visit(file, []);
  assert.deepEqual(cycles, []);
});
