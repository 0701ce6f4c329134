// Process entry of the nats-server watchdog: registers the TypeScript loader (tsx), then runs it.
import { register } from 'tsx/esm/api';
register();
await import('./nats-watchdog.ts');
