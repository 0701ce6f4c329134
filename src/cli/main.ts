// The `tso` command line. Each subcommand lives in its own file; errors print one clear line.
import { Command, CommanderError } from 'commander';
import { quietUnlessConfigured } from '../util/log.js';
import { ablateCellCommand } from './ablate-cell-command.js';
import { ablateCommand } from './ablate-command.js';
import { benchCommand } from './bench-command.js';
import { demoCommand } from './demo-command.js';
import { evalCommand } from './eval-command.js';
import { exportCommand } from './export-command.js';
import { pretrainCommand } from './pretrain-command.js';
import { serveCommand } from './serve-command.js';
import { clusterCommand, resumeCommand } from './cluster-command.js';
import { coordinatorCommand } from './coordinator-command.js';
import { generateCommand } from './generate-command.js';
import { nodeCommand } from './node-command.js';
import { statusCommand } from './status-command.js';
import { uiCommand } from './ui-command.js';

const program = new Command('tso')
  .description('TSO (Self-Training with Scaled Preference Optimization) on an actor-based tfjs cluster')
  .showHelpAfterError()
  .exitOverride()
  .hook('preAction', (_program, action) => {
    // Actors and runs log at info level; one-shot commands only show warnings (TSO_LOG_LEVEL overrides).
    if (
      ['status', 'generate', 'bench', 'eval', 'ablate', 'ablate-cell', 'pretrain', 'ui', 'export'].includes(
        action.name(),
      )
    )
      quietUnlessConfigured();
  });

program.addCommand(generateCommand());
program.addCommand(benchCommand());
program.addCommand(nodeCommand());
program.addCommand(coordinatorCommand());
program.addCommand(clusterCommand());
program.addCommand(resumeCommand());
program.addCommand(statusCommand());
program.addCommand(demoCommand());
program.addCommand(ablateCommand());
program.addCommand(ablateCellCommand(), { hidden: true }); // one cell of `tso ablate`, in its own process
program.addCommand(pretrainCommand());
program.addCommand(evalCommand());
program.addCommand(serveCommand());
program.addCommand(uiCommand());
program.addCommand(exportCommand());

try {
  await program.parseAsync(process.argv);
  process.exit(process.exitCode ?? 0);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  process.stderr.write(`tso: ${(e as Error).message}\n`);
  process.exit(1);
}
