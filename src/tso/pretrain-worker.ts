// A `tso pretrain` worker thread: initialises its own backend, trains one model per request and reports
// progress. Each job is independent of the thread that runs it (all randomness is seeded per model).
import { parentPort } from 'node:worker_threads';
import { initBackend } from '../backend/select-backend.js';
import { runPretrainJob, type PretrainWorkerReply, type PretrainWorkerRequest } from './pretrain.js';

const post = (m: PretrainWorkerReply) => parentPort?.postMessage(m);

parentPort?.on('message', (msg: PretrainWorkerRequest) => {
  if (msg.kind !== 'job') return;
  initBackend(msg.job.backend)
    .then(() => runPretrainJob(msg.job, (progress) => post({ kind: 'progress', progress })))
    .then(
      (result) => post({ kind: 'done', result }),
      (e: unknown) => post({ kind: 'error', message: (e as Error).stack ?? String(e) }),
    );
});
