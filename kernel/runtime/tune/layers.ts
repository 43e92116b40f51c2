// Layer lists as people write them: "8-11", "0,3,8-11", "11" (the CLI's --layers, notebook shorthands).
import { OptionsError } from "../errors";

/**
 * The sorted, distinct layer indices of a list like "0,3,8-11" (ranges inclusive). With `nLayer`,
 * each must be below it, and "top3" means the top three layers.
 */
export function parseLayers(text: string, nLayer?: number): number[] {
  const out = new Set<number>();
  const bad = (why: string): never => {
    throw new OptionsError(`layers "${text}": ${why} (write e.g. 8-11, 0,3,8-11 or top3)`, "layers");
  };
  for (const part of text.split(",").map((p) => p.trim())) {
    const top = /^top(\d+)$/i.exec(part);
    const range = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part);
    if (top) {
      if (nLayer === undefined) bad(`"${part}" needs the model's layer count`);
      const k = Number(top[1]);
      if (k < 1 || k > nLayer!) bad(`the model has ${nLayer} layers`);
      for (let l = nLayer! - k; l < nLayer!; l++) out.add(l);
    } else if (range) {
      const a = Number(range[1]),
        b = range[2] === undefined ? a : Number(range[2]);
      if (b < a) bad(`the range ${part} runs backwards`);
      for (let l = a; l <= b; l++) out.add(l);
    } else bad(`"${part}" is not a layer or a range`);
  }
  const layers = [...out].sort((x, y) => x - y);
  if (nLayer !== undefined && layers[layers.length - 1] >= nLayer) bad(`the model has layers 0..${nLayer - 1}`);
  return layers;
}
