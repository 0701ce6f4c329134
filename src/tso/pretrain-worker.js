// Worker entry: registers the TypeScript loader (tsx) in this thread, then runs the pretrain worker.
import { register } from 'tsx/esm/api';
register();
await import('./pretrain-worker.ts');
