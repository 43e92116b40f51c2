// `rwkv-nb env`: what this installation runs on (versions, threads, SIMD, CUDA), as JSON.
import { defineCommand } from "../command";
import { native } from "../../runtime/native";

export const command = defineCommand({
  name: "env",
  summary: "runtime environment as JSON (threads, SIMD, CUDA)",
  usage:
    "usage: rwkv-nb env\n\nPrints {version, node, threads, simd, compute, cpu: {brand, features, simdPaths}," +
    ' cuda: {compiled, available, devices, gemm, cublas}} as JSON (gemm: "cublas" or "own" where a GPU is usable).' +
    ' compute: the --compute values a CPU model accepts here ("bf16"' +
    " needs AVX512_BF16 on the SIMD path in use).",
  options: {},
  async run() {
    const info = native().info();
    const version = (require("../../../../package.json") as { version: string }).version;
    console.log(
      JSON.stringify(
        {
          version,
          node: process.version,
          threads: info.threads,
          simd: info.simd,
          compute: info.bf16Compute ? ["fp32", "bf16"] : ["fp32"],
          cpu: info.cpu,
          cuda: info.cuda,
        },
        null,
        2,
      ),
    );
    return 0;
  },
});
