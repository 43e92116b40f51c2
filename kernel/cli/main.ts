// `rwkv-nb <command> ...`: each command lives in cli/commands/<name>.ts and exports `command`.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Command } from "./command";

export type { Command } from "./command";

function commandNames(): string[] {
  const dir = path.join(__dirname, "commands");
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".js"))
    .map((f) => f.slice(0, -3))
    .sort();
}

export function loadCommand(name: string): Command | undefined {
  if (!/^[a-z][a-z-]*$/.test(name) || !commandNames().includes(name)) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- commands are found by name at run time
  return (require(path.join(__dirname, "commands", name)) as { command: Command }).command;
}

function help(): string {
  const lines = ["usage: rwkv-nb <command> [options]", "", "commands:"];
  for (const n of commandNames()) {
    const c = loadCommand(n);
    if (c) lines.push(`  ${c.name.padEnd(12)} ${c.summary}`);
  }
  lines.push("", "rwkv-nb <command> --help shows a command's options.");
  return lines.join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(help());
    return 0;
  }
  if (name === "--version") {
    console.log(require("../../../package.json").version);
    return 0;
  }
  const cmd = loadCommand(name);
  if (!cmd) {
    console.error(`rwkv-nb: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(cmd.usage);
    return 0;
  }
  return cmd.run(rest);
}
