// Files the runtime writes and reads by position.
//
// Every output goes through one writer: a temporary name in the same folder, fsync, rename over the
// final name, fsync of the folder. A run that fails, is cancelled or is killed never leaves a
// half-written file under the final name, and the previous output stays until the new one is
// complete. Temporary names carry the writer's pid (`.<name>.tmp-<pid>-<n>`): the next write to the
// same target removes those whose process is gone, which is what a kill -9 leaves behind.
//
// Why not the npm package write-file-atomic: it takes the whole content as one string or buffer,
// while our checkpoints are streamed tensor by tensor (GBs, from mapped or generated data) and
// make-data commits .bin and .idx together; it does not fsync the folder; and it cleans its
// temporary file up on signals it can catch, not after kill -9. Linux's unnamed O_TMPFILE would
// avoid leftovers, but Node cannot link such a file into place (no linkat with AT_EMPTY_PATH).
import * as fs from "node:fs";
import * as path from "node:path";

let counter = 0;

/** Creates the folder of `finalPath` (and its parents) when missing; checkWritableFolder names a file in the way. */
export function createFolderOf(finalPath: string): void {
  const dir = path.dirname(path.resolve(finalPath));
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch {
    /* a file where a folder should be: reported by checkWritableFolder */
  }
}

/**
 * Creates the folder of `finalPath` when missing, and fails early, with a clear message, when files
 * cannot be created in it.
 */
export function checkWritableFolder(finalPath: string): void {
  createFolderOf(finalPath);
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
  for (const f of files) fs.rmSync(f, { force: true });
}

function processIsGone(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/**
 * Removes temporary files of `finalPath` left by processes that no longer run (this scheme and the
 * older `<name>.tmp-<pid>…`).
 */
function removeStaleTemps(finalPath: string): void {
  const dir = path.dirname(finalPath),
    base = path.basename(finalPath);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  const escaped = base.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = new RegExp(`^\\.?${escaped}\\.tmp-(\\d+)(-|$)`);
  for (const name of names) {
    const m = pattern.exec(name);
    if (m && processIsGone(Number(m[1]))) removeQuietly(path.join(dir, name));
  }
}

/** A file being written under a temporary name beside its final path; commit() puts it in place. */
export class PendingFile {
  readonly tmp: string;
  constructor(readonly path: string) {
    createFolderOf(path); // every output's missing folders are created
    removeStaleTemps(path);
    this.tmp = tempName(path);
  }

  /** fsync the temporary file, rename it over the final name, fsync the folder. */
  commit(): void {
    syncFile(this.tmp);
    fs.renameSync(this.tmp, this.path);
    syncFolder(path.dirname(this.path));
  }

  discard(): void {
    removeQuietly(this.tmp);
  }
}

function tempName(finalPath: string): string {
  const name = `.${path.basename(finalPath)}.tmp-${process.pid}-${(counter++).toString(36)}`;
  return path.join(path.dirname(finalPath), name);
}

function syncFile(file: string): void {
  const fd = fs.openSync(file, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Makes a rename durable; folders that cannot be opened for fsync (some filesystems) are skipped. */
function syncFolder(dir: string): void {
  let fd: number;
  try {
    fd = fs.openSync(dir, "r");
  } catch {
    return;
  }
  try {
    fs.fsyncSync(fd);
  } catch {
    /* EINVAL on filesystems without folder fsync */
  } finally {
    fs.closeSync(fd);
  }
}

/** Several outputs written under temporary names that appear together, or not at all, at commit. */
export function commitAll(files: readonly PendingFile[]): void {
  for (const f of files) syncFile(f.tmp);
  for (const f of files) fs.renameSync(f.tmp, f.path);
  for (const dir of new Set(files.map((f) => path.dirname(f.path)))) syncFolder(dir);
}

/** Writes `file` atomically: `fill` writes the temporary file through its descriptor. */
export function writeFileAtomic(file: string, fill: (fd: number) => void): void {
  const out = new PendingFile(file);
  try {
    const fd = fs.openSync(out.tmp, "w");
    try {
      fill(fd);
    } finally {
      fs.closeSync(fd);
    }
    out.commit();
  } catch (e) {
    out.discard();
    throw e;
  }
}

/** Reads exactly `into.length` bytes at `position`; `ended(at)` makes the error for a file that ends first. */
export function readFully(fd: number, into: Uint8Array, position: number, ended: (at: number) => Error): void {
  for (let done = 0; done < into.length;) {
    const n = fs.readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) throw ended(position + done);
    done += n;
  }
}
