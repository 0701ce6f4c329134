// Worker entry: registers the TypeScript loader (tsx) in this thread, then runs the replica.
import { register } from 'tsx/esm/api';
register();
await import('./replica-worker.ts');
