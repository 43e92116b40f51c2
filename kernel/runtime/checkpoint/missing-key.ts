// The "no such tensor" error, with the keys that look closest so a typo is easy to spot.
import { CheckpointError } from "../errors";

export function missingKey(file: string, name: string, keys: string[]): CheckpointError {
  const tail = name.split(".").slice(-2).join(".");
  const near = keys.filter((k) => k.endsWith(tail) || k.startsWith(name.split(".").slice(0, 2).join("."))).slice(0, 5);
  return new CheckpointError(
    `no tensor named ${name}${near.length ? ` (similar: ${near.join(", ")})` : ""}`,
    file,
    name,
  );
}
