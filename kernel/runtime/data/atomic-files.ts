// Outputs are written under temporary names next to their final place and renamed in at the end,
// so a failed or cancelled run never leaves half-written files or clobbers the previous output.
import * as fs from "node:fs";
import * as path from "node:path";

export function tempPathFor(finalPath: string): string {
  return path.join(
    path.dirname(finalPath),
    `.${path.basename(finalPath)}.tmp-${process.pid}-${Date.now().toString(36)}`,
  );
}

/** Fails early, with a clear message, when files cannot be created in the folder of `finalPath`. */
export function checkWritableFolder(finalPath: string): void {
  const dir = path.dirname(path.resolve(finalPath));
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new Error(`output folder ${dir} does not exist`);
  }
  if (!st.isDirectory()) throw new Error(`output folder ${dir} is not a folder`);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw new Error(`output folder ${dir} is not writable`);
  }
}

export function removeQuietly(...files: string[]): void {
  for (const f of files) {
    try {
      fs.unlinkSync(f);
    } catch {
      /* already gone */
    }
  }
}

/** Renames each [temp, final] pair into place, in order. */
export function commitFiles(pairs: Array<[string, string]>): void {
  for (const [tmp, fin] of pairs) fs.renameSync(tmp, fin);
}
