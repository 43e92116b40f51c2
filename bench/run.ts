// `npm run bench`: runs every bench/*.ts module's exported run*Bench() function, prints one table
// and writes bench/results.json (rows plus the environment).
import * as fs from "node:fs";
import * as path from "node:path";
import { native } from "../kernel/runtime/native";
import type { BenchRow } from "./types";

type BenchFn = () => Promise<BenchRow[]>;

function benchModules(): string[] {
  return fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith(".js") && f !== "run.js" && f !== "types.js")
    .sort();
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const rows: BenchRow[] = [];
  const failures: string[] = [];
  for (const f of benchModules()) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- bench modules are found by name at run time
    const mod = require(path.join(__dirname, f)) as Record<string, unknown>;
    for (const [name, fn] of Object.entries(mod)) {
      if (!/^run\w*Bench$/.test(name) || typeof fn !== "function") continue;
      if (only.length && !only.some((o) => name.toLowerCase().includes(o.toLowerCase()))) continue;
      process.stderr.write(`running ${name} (${f})...\n`);
      try {
        rows.push(...(await (fn as BenchFn)()));
      } catch (e) {
        failures.push(`${name}: ${(e as Error).message}`);
      }
    }
  }
  console.table(
    rows.map((r) => ({
      group: r.group,
      name: r.name,
      value: Number(r.value.toPrecision(4)),
      unit: r.unit,
      note: r.note ?? "",
    })),
  );
  for (const f of failures) console.error(`FAILED ${f}`);
  const out = path.join(__dirname, "..", "..", "bench", "results.json");
  const info = native().info();
  fs.writeFileSync(
    out,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        cpu: info.cpu,
        simd: info.simd,
        bf16Compute: info.bf16Compute,
        threads: info.threads,
        cuda: info.cuda.available,
        rows,
        failures,
      },
      null,
      2,
    ) + "\n",
  );
  console.error(`wrote ${out}`);
  if (failures.length) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
