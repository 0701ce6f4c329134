// tf.customGrad with typed inputs, shared by the hand-differentiated kernels.
import * as tf from '@tensorflow/tfjs';

export type GradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];
export type OpBody = (inputs: tf.Tensor[], save: tf.GradSaveFunc) => { value: tf.Tensor; gradFunc: GradFunc };

/** True while a gradient tape records (inside tf.grads / tf.variableGrads). */
export function recordingGradients(): boolean {
  return tf.engine().state.gradientDepth > 0;
}

const noSave: tf.GradSaveFunc = () => {};

/** tf.customGrad with typed inputs: `body` gets the n input tensors and the save function. */
export function customOp(n: number, body: OpBody): (...inputs: tf.Tensor[]) => tf.Tensor {
  const f = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const { value, gradFunc } = body(args.slice(0, n) as tf.Tensor[], args[n] as tf.GradSaveFunc);
    // tfjs runs a custom gradient inside the whole backward pass's scope, so without this tidy every
    // temporary of every hand-written gradient (transposes, per-head slices) stayed alive until the
    // end of the step: the wasm heap grew ~0.5 GB per replica.
    return { value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => gradFunc(dy, saved)) };
  }) as Parameters<typeof tf.customGrad>[0]);
  // Without a tape (generation, reference log-probs) the body runs as plain ops: the same kernels and
  // bits, without customGrad's scope, identity copies and saved tensors (~1/5 of a generated token's
  // dispatches). The caller's tidy frees the temporaries, as for any other op.
  return (...inputs) => (recordingGradients() ? f(...inputs) : body(inputs, noSave).value);
}
