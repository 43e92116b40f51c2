// Writes a torch-loadable .pth: `torch.load(path, weights_only=True)` gives the dict back.
import * as path from "node:path";
import { DTYPE_SIZE, Tensor } from "../tensor";
import { CheckpointError } from "../errors";
import { writeCheckpointFile } from "./types";
import { pickleTensorDict } from "./pickle-writer";
import { tensorPairs, type TensorList } from "./types";
import { ZipWriter } from "./zip-writer";

export interface WritePthOptions {
  /** "dict" as RWKV-PEFT state files; "OrderedDict" as module.state_dict(). */
  container?: "dict" | "OrderedDict";
}

export function writePth(file: string, tensors: TensorList, opts: WritePthOptions = {}): void {
  const list = tensorPairs(tensors);
  const archive = path.basename(file).replace(/\.[^.]*$/, "") || "archive";
  const pickled = list.map(([name, t], i) => ({ name, dtype: t.dtype, shape: [...t.shape], storageKey: String(i) }));
  writeCheckpointFile(file, (fd) => {
    const zip = new ZipWriter(fd);
    zip.add(`${archive}/data.pkl`, pickleTensorDict(pickled, opts.container ?? "dict"));
    zip.add(`${archive}/byteorder`, new TextEncoder().encode("little"));
    list.forEach(([name, t], i) => {
      const data = typeof t.data === "function" ? t.data() : t.data;
      const want = Tensor.numelOf(t.shape) * DTYPE_SIZE[t.dtype];
      if (data.byteLength !== want)
        throw new CheckpointError(
          `tensor has ${data.byteLength} bytes, shape [${t.shape}] ${t.dtype} needs ${want}`,
          file,
          name,
        );
      zip.add(`${archive}/data/${i}`, data);
    });
    zip.add(`${archive}/version`, new TextEncoder().encode("3\n"));
    zip.finish();
  });
}
