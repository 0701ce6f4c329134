/** Weights whose digest, size or layout does not match what was promised. Nothing is loaded. */
export class WeightsIntegrityError extends Error {
  override name = 'WeightsIntegrityError';
}
