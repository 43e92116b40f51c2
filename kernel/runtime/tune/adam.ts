// The optimizer side of a tuning step: global L2-norm gradient clipping (torch clip_grad_norm_)
// and one bias-corrected Adam update by the native addon (fp32 master state and moments).
import { l2Norm } from "../math";
import { native } from "../native";

/**
 * Scales g in place so its norm is at most maxNorm (torch: coef = max/(norm+1e-6), applied when
 * < 1); returns the norm before clipping.
 */
export function clipGradNorm(g: Float32Array, maxNorm: number): number {
  const norm = l2Norm(g);
  if (maxNorm > 0) {
    const coef = maxNorm / (norm + 1e-6);
    if (coef < 1) for (let i = 0; i < g.length; i++) g[i] *= coef;
  }
  return norm;
}

export interface AdamHyper {
  beta1: number;
  beta2: number;
  eps: number;
}

/** Parameters with their Adam moments; `t` counts updates taken (bias correction uses t+1 next). */
export class Adam {
  readonly m: Float32Array;
  readonly v: Float32Array;
  t = 0;
  constructor(
    readonly param: Float32Array,
    readonly hyper: AdamHyper,
    moments?: { m: Float32Array; v: Float32Array; t: number },
  ) {
    this.m = moments ? moments.m : new Float32Array(param.length);
    this.v = moments ? moments.v : new Float32Array(param.length);
    if (moments) this.t = moments.t;
    if (this.m.length !== param.length || this.v.length !== param.length)
      throw new Error(`Adam moments have ${this.m.length}/${this.v.length} numbers, the parameter ${param.length}`);
  }

  step(grad: Float32Array, lr: number): void {
    native().adamStep(this.param, this.m, this.v, grad, {
      lr,
      beta1: this.hyper.beta1,
      beta2: this.hyper.beta2,
      eps: this.hyper.eps,
      step: this.t + 1,
    });
    this.t++;
  }
}
