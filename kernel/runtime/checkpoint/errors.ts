// Errors about a checkpoint file name the file and, where one is involved, the tensor key.
export class CheckpointError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly key?: string,
  ) {
    super(`${file}${key ? ` [${key}]` : ""}: ${message}`);
    this.name = "CheckpointError";
  }
}
