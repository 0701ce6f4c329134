export class BackendError extends Error {
  override name = 'BackendError';
}
