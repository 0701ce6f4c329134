// tf.customGrad with typed inputs, shared by the hand-differentiated kernels.
import * as tf from '@tensorflow/tfjs';

export type GradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];
export type OpBody = (inputs: tf.Tensor[], save: tf.GradSaveFunc) => { value: tf.Tensor; gradFunc: GradFunc };

/** tf.customGrad with typed inputs: `body` gets the n input tensors and the save function. */
export function customOp(n: number, body: OpBody): (...inputs: tf.Tensor[]) => tf.Tensor {
  const f = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) =>
    body(args.slice(0, n) as tf.Tensor[], args[n] as tf.GradSaveFunc)) as Parameters<
    typeof tf.customGrad
  >[0]);
  return (...inputs) => f(...inputs);
}
