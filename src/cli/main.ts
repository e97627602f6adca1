#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { describeError } from '../errors.js';
import { certifyCommand, referenceCommand, statusCommand } from './client-commands.js';
import { demoCentral, demoCommand, DEMO_CONFIG } from './demo.js';
import { hubCommand, hubMergeCommand } from './hub.js';
import { serveCommand } from './serve.js';
import { verifyCommand } from './verify.js';
import { acknowledgeCommand, backupCommand, keysRotateCommand, usersAddCommand, usersDisableCommand, usersListCommand } from './admin-commands.js';
import { runEvaluateCommand } from './evaluate.js';

/**
 * mpocert's one entry point. Every command returns an exit code; nothing prints a stack trace
 * to a user (errors are one line, with the context that locates them).
 */
const program = new Command()
  .name('mpocert')
  .description('Certify MPO/MTP multi-fiber cabling: drive the bench, judge every fiber, sign the certificate.')
  .showHelpAfterError()
  .exitOverride();

const configOption = (): Option =>
  new Option('-c, --config <file>', 'daemon config file (YAML or JSON)').default(DEMO_CONFIG, 'the built-in demo bench');

let exitCode = 0;

function parsePositiveInt(v: string, flag: string): number {
  if (!/^[1-9][0-9]*$/.test(v)) throw new InvalidArgumentError(`${flag} must be a whole number >= 1`);
  return Number(v);
}
const run = (fn: () => Promise<number>) => async () => {
  exitCode = await fn();
};

program
  .command('serve')
  .description('run the daemon: benches, job runner and HTTP service')
  .addOption(configOption().makeOptionMandatory(false))
  .action((opts: { config: string }) => run(() => serveCommand(opts.config))());

program
  .command('demo')
  .description('start the simulated demo bench and the daemon on it (no hardware needed)')
  .addOption(configOption())
  .option('--central <postgres-url>', 'also replicate its certificates to a central QA store (site "demo-site")')
  .action((opts: { config: string; central?: string }) => run(() => demoCommand(opts.config, demoCentral(opts.central)))());

// `--config` belongs to `hub` (commander reads a parent's options anywhere on the line), so
// `hub merge --config F` finds it there too; required by hand, or commander would demand it twice.
const hubConfig = (config: string | undefined): string => config ?? hub.error("error: required option '-c, --config <file>' not specified");
const hub = program
  .command('hub')
  .description('run the central QA hub: merge what benches ship into PostgreSQL, serve QA\'s API and pages across every site and bench')
  .option('-c, --config <file>', 'hub config file (YAML or JSON)')
  .action((opts: { config?: string }) => run(() => hubCommand(hubConfig(opts.config)))());
hub
  .command('merge')
  .description('merge the central inbox once and print what was merged and quarantined (for scripts)')
  .action(() => run(() => hubMergeCommand(hubConfig(hub.opts<{ config?: string }>().config)))());

program
  .command('reference')
  .description('take a 1-cord reference on a bench (launch cord only, no device under test), then verify the launch cord against the reference plug')
  .requiredOption('-b, --bench <id>', 'bench id')
  .option('-o, --operator <name>', 'who references the bench (with the shared token; default $USER). With MPOCERT_TOKEN, your own token names you')
  .option('--accept-despite <reason>', 'store a reference the plausibility checks refuse (e.g. a new source was fitted), with the reason')
  .addOption(configOption())
  .action((opts: { bench: string; config: string; operator?: string; acceptDespite?: string }) => run(() => referenceCommand(opts))());

program
  .command('certify')
  .description('measure and certify an assembly (--serial) or an installed link (--link) on a bench, and wait for the verdict')
  .requiredOption('-b, --bench <id>', 'bench id')
  .option('-s, --serial <serial>', 'assembly serial number')
  .option('-l, --link <linkId>', 'installed link id')
  .option('-p, --product <name>', 'product from the config describing what is tested (default: the bench\'s)')
  .option('-o, --operator <name>', 'who runs the job (with the shared token; default $USER). With MPOCERT_TOKEN, your own token names you')
  .addOption(configOption())
  .action((opts: { bench: string; serial?: string; link?: string; product?: string; operator?: string; config: string }) =>
    run(() => certifyCommand(opts))(),
  );

program
  .command('status')
  .description('show benches, instruments, references and running jobs')
  .addOption(configOption())
  .action((opts: { config: string }) => run(() => statusCommand(opts))());

program
  .command('evaluate')
  .description('judge a recorded test offline and print its certificate as JSON (exit 0 PASS/MARGINAL, 1 FAIL, 2 INVALID or bad input)')
  .argument('<record.json>', 'test record (see docs/record-format.md)')
  .option('--limits-dir <dir>', 'extra limit-set files')
  .action((file: string, opts: { limitsDir?: string }) => run(() => runEvaluateCommand(file, opts))());

program
  .command('verify')
  .description('check certificates read-only: content, signature by a trusted key, chain, checkpoints (exit 0 intact, 1 not)')
  .option('--id <n>', 'one certificate', (v) => parsePositiveInt(v, '--id'))
  .option('--db <file>', 'a database file, e.g. a backup QA received (default: the config\'s)')
  .option('--trust <file>', 'the trusted keys file QA keeps (default: the config\'s trust.keysFile, else the data directory\'s)')
  .option('--checkpoints <file...>', 'checkpoint files QA kept (default: the data directory\'s)')
  .addOption(configOption())
  .action((opts: { id?: number; config: string; db?: string; trust?: string; checkpoints?: string[] }) => run(() => verifyCommand(opts))());

const ROLES = ['operator', 'qa', 'admin'] as const;
const users = program.command('users').description('people who may use the HTTP API, each with their own token and role');
users
  .command('add')
  .description('add a person and print their token once (operator: reference/certify on their benches; qa: read; admin: everything)')
  .argument('<name>', 'user name (recorded on the certificates they run)')
  .addOption(new Option('-r, --role <role>', 'what they may do').choices(ROLES).makeOptionMandatory())
  .option('-b, --bench <id...>', 'benches an operator may use ("*" for all)')
  .addOption(configOption())
  .action((name: string, opts: { role: (typeof ROLES)[number]; bench?: string[]; config: string }) => run(() => usersAddCommand({ ...opts, name }))());
users
  .command('list')
  .description('list people, roles, benches and whether they are active')
  .addOption(configOption())
  .action((opts: { config: string }) => run(() => usersListCommand(opts))());
users
  .command('disable')
  .description('disable a person: their token stops working at once (their certificates stay)')
  .argument('<name>', 'user name')
  .addOption(configOption())
  .action((name: string, opts: { config: string }) => run(() => usersDisableCommand({ ...opts, name }))());

program
  .command('backup')
  .description('copy the evidence (database, checkpoints, trusted keys) consistently into a new directory, daemon running or not')
  .argument('<dest>', 'a new or empty directory')
  .addOption(configOption())
  .action((dest: string, opts: { config: string }) => run(() => backupCommand({ ...opts, dest }))());

program
  .command('keys')
  .description('signing keys')
  .command('rotate')
  .description('replace the signing key by one the old key vouches for (stop the daemon first)')
  .addOption(configOption())
  .action((opts: { config: string }) => run(() => keysRotateCommand(opts))());

program
  .command('custody')
  .description('the chain of custody')
  .command('acknowledge')
  .description('after QA has looked at a certificate failing verification, let its bench certify again (verify still reports it)')
  .requiredOption('--certificate <n>', 'the certificate id verify named (0 for problems not tied to one)', (v) => (v === '0' ? 0 : parsePositiveInt(v, '--certificate')))
  .addOption(new Option('--problem <kind>', 'which problem').choices(['*', 'content', 'signature', 'chain', 'untrusted-key', 'missing', 'checkpoint', 'schema']).default('*', 'all of them'))
  .requiredOption('--reason <text>', 'what was found and done, kept with the acknowledgement')
  .option('--by <name>', 'who acknowledges', process.env.USER ?? 'qa')
  .addOption(configOption())
  .action((opts: { certificate: number; problem: string; reason: string; by: string; config: string }) => run(() => acknowledgeCommand(opts))());

try {
  await program.parseAsync(process.argv);
  process.exitCode = exitCode;
} catch (err) {
  const code = (err as { code?: string }).code;
  if (code === 'commander.helpDisplayed' || code === 'commander.version') process.exitCode = 0;
  else if (typeof code === 'string' && code.startsWith('commander.')) process.exitCode = 2;
  else {
    process.stderr.write(`mpocert: ${describeError(err)}\n`);
    process.exitCode = 2;
  }
}
