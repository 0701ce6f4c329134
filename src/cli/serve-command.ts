// `tso serve`: one model directory as an OpenAI-compatible HTTP API (src/serve/), so any OpenAI client
// — or an endpoint generator node of another cluster — can use a tso model.
import { basename } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { initBackend } from '../backend/select-backend.js';
import { apiKeyFromEnv } from '../http/openai-client.js';
import { loadModel } from '../model/checkpoint.js';
import { startServe } from '../serve/serve-server.js';
import { logger } from '../util/log.js';
import { backendOption } from './options.js';

function hostPort(v: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^\s:]+):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new InvalidArgumentError(`expected HOST:PORT, got "${v}"`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

export function serveCommand(): Command {
  return new Command('serve')
    .description(
      'serve a model directory as an OpenAI-compatible API (/v1/models, /v1/completions, /v1/chat/completions)',
    )
    .requiredOption('--model <dir>', 'model directory (manifest.json + weights.bin)')
    .option(
      '--listen <host:port>',
      'address to bind (port 0: any free port)',
      hostPort,
      hostPort('127.0.0.1:8000'),
    )
    .option('--model-name <name>', 'model id clients send and /v1/models lists (default: the directory name)')
    .option('--api-key-env <var>', 'require `Authorization: Bearer $VAR` on every request')
    .addOption(backendOption())
    .action(async (o) => {
      const log = logger('serve');
      const apiKey = apiKeyFromEnv(
        o.apiKeyEnv as string | undefined,
        'tso serve',
        process.env,
        '--api-key-env',
      );
      await initBackend(o.backend);
      const { model, manifest } = await loadModel(o.model as string, false);
      const modelName = (o.modelName as string | undefined) ?? basename(o.model as string);
      const listen = o.listen as { host: string; port: number };
      const server = await startServe({
        model,
        modelName,
        fingerprint: `tso-${manifest.sha256.slice(0, 12)}`,
        host: listen.host,
        port: listen.port,
        apiKey,
        log,
      });
      if (listen.host !== '127.0.0.1' && listen.host !== 'localhost' && apiKey === undefined)
        log.warn(
          'serving beyond loopback without --api-key-env: anyone who reaches this port can use the model',
        );
      process.stdout.write(`serving ${modelName} at ${server.url}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => void server.close().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      model.dispose();
    });
}
