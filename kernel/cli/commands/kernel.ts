// `rwkv-nb kernel install|uninstall|start`: the Jupyter kernelspec and the kernel process.
import { defineCommand } from "../command";
import { installKernelspec, uninstallKernelspec, KernelspecTarget } from "../../jupyter/install";

const usage = `usage:
  rwkv-nb kernel install [--user | --sys-prefix | --prefix <dir>] [--display-name <name>]
  rwkv-nb kernel uninstall [--user | --sys-prefix | --prefix <dir>]
  rwkv-nb kernel start --connection-file <file>   (run by Jupyter through the kernelspec)

--user (default) installs into the per-user Jupyter data dir ($JUPYTER_DATA_DIR when set),
--sys-prefix into the Python environment of /usr/bin/python3 (or $PYTHON), --prefix into <dir>/share/jupyter.`;

function target(v: { "sys-prefix"?: boolean; prefix?: string; user?: boolean }): KernelspecTarget {
  const n = [v.user, v["sys-prefix"], v.prefix !== undefined].filter(Boolean).length;
  if (n > 1) throw new Error("give only one of --user, --sys-prefix, --prefix");
  if (v.prefix !== undefined) return { kind: "prefix", prefix: v.prefix };
  return v["sys-prefix"] ? { kind: "sys-prefix" } : { kind: "user" };
}

export const command = defineCommand({
  name: "kernel",
  summary: "install/uninstall the rwkv-ts Jupyter kernel (and start it)",
  usage,
  options: {
    user: { type: "boolean" },
    "sys-prefix": { type: "boolean" },
    prefix: { type: "string" },
    "display-name": { type: "string" },
    "connection-file": { type: "string" },
  },
  async run({ values, positionals }) {
    const [sub, ...extra] = positionals;
    if (extra.length > 0) throw new Error(`unexpected argument '${extra[0]}'\n\n${usage}`);
    switch (sub) {
      case "install": {
        const dir = installKernelspec(target(values), values["display-name"]);
        console.log(`installed kernelspec rwkv-ts in ${dir}`);
        return 0;
      }
      case "uninstall": {
        const dir = uninstallKernelspec(target(values));
        console.log(dir ? `removed kernelspec ${dir}` : "kernelspec rwkv-ts is not installed there");
        return dir ? 0 : 1;
      }
      case "start": {
        const file = values["connection-file"];
        if (!file) throw new Error("kernel start needs --connection-file <file>");
        const { startKernel } = await import("../../jupyter/launcher");
        await startKernel(file);
        return new Promise<number>(() => {
          /* serves until shutdown_request exits the process */
        });
      }
      default:
        console.error(usage);
        return 2;
    }
  },
});
