// tf.customGrad with typed inputs, shared by the hand-differentiated kernels.
import * as tf from '@tensorflow/tfjs';

export type GradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];
export type OpBody = (inputs: tf.Tensor[], save: tf.GradSaveFunc) => { value: tf.Tensor; gradFunc: GradFunc };

/** tf.customGrad with typed inputs: `body` gets the n input tensors and the save function. */
export function customOp(n: number, body: OpBody): (...inputs: tf.Tensor[]) => tf.Tensor {
  const f = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const { value, gradFunc } = body(args.slice(0, n) as tf.Tensor[], args[n] as tf.GradSaveFunc);
    // tfjs runs a custom gradient inside the whole backward pass's scope, so without this tidy every
    // temporary of every hand-written gradient (transposes, per-head slices) stayed alive until the
    // end of the step: the wasm heap grew ~0.5 GB per replica.
    return { value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => gradFunc(dy, saved)) };
  }) as Parameters<typeof tf.customGrad>[0]);
  return (...inputs) => f(...inputs);
}
