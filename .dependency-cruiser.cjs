/**
 * The direction dependencies may point, checked by `npm run depcheck` and by
 * test/architecture/layers.test.ts (so the suite fails when an import breaks a layer).
 *
 *   core        src/errors.ts, src/project-root.ts, src/instruments/ (capabilities and their errors)
 *   transport   src/transport/            -> core
 *   drivers     drivers/                  -> core, transport          (a driver knows its instrument)
 *   evaluation  src/evaluation/           -> core                     (the engine: pure, no I/O to instruments)
 *   config      src/config/               -> core, evaluation, drivers (instrument entries are the registry's schema)
 *   pipeline    src/pipeline/             -> core, config, evaluation  (knows capabilities, never a driver)
 *   store       src/store/                -> core, evaluation
 *   jobs        src/jobs/                 -> pipeline, evaluation, store, config, core
 *   http        src/http/                 -> jobs, store, evaluation, pipeline, config, core (never the daemon or cli)
 *   central     src/central/              -> store, evaluation, http renderers and web helpers, core (the central QA store:
 *                                            replicator, merge, hub); only the daemon and the cli import it
 *   daemon      src/daemon/               -> everything above, never cli (it composes drivers into benches)
 *   cli         src/cli/                  -> everything
 * Production code never imports fixtures/, benchmarks/ or test/, with one opt-in exception: the
 * daemon loads the simulated bench's stand-in operator (fixtures/simulators/simulated-operator.ts)
 * only when a config names a simulated bench.
 */
const layer = (name, from, allowed, comment) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from },
  to: { path: '^(src|drivers|fixtures|benchmarks|test)/', pathNot: allowed },
});

const CORE = '^src/(errors|project-root)\\.ts$|^src/instruments/';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'a cycle makes layers meaningless', from: {}, to: { circular: true } },
    layer('core-is-the-bottom', '^src/(errors|project-root)\\.ts$|^src/instruments/', [CORE], 'core imports nothing of ours'),
    layer('transport', '^src/transport/', [CORE, '^src/transport/'], 'transport describes framing only'),
    layer('drivers', '^drivers/', [CORE, '^src/transport/', '^drivers/'], 'a driver knows its instrument, not the pipeline, store or daemon'),
    layer('evaluation', '^src/evaluation/', [CORE, '^src/evaluation/'], 'the engine depends on nothing but core'),
    layer('config', '^src/config/', [CORE, '^src/config/', '^src/evaluation/', '^drivers/registry\\.ts$'], 'config validates entries with the registry schema'),
    layer('pipeline', '^src/pipeline/', [CORE, '^src/pipeline/', '^src/config/', '^src/evaluation/'], 'the pipeline knows capabilities, never a driver, and not the store'),
    layer('store', '^src/store/', [CORE, '^src/store/', '^src/evaluation/'], 'the store keeps what jobs hand it'),
    layer('jobs', '^src/jobs/', [CORE, '^src/(jobs|pipeline|evaluation|store|config)/'], 'a job = measure, judge, store'),
    layer('http', '^src/http/', [CORE, '^src/(http|jobs|pipeline|evaluation|store|config)/'], 'http never imports the daemon or the cli'),
    layer(
      'central',
      '^src/central/',
      [CORE, '^src/(central|store|evaluation)/', '^src/http/(certificate-(html|csv|view)|qa-export|qa-query|input)\\.ts$', '^src/http/(pdf|web)/'],
      'the central QA store reads what benches signed: the store, the evaluation engine and the bench\'s renderers, never a bench\'s daemon, jobs or config',
    ),
    layer('daemon', '^src/daemon/', [CORE, '^src/(daemon|central|http|jobs|pipeline|evaluation|store|config|transport)/', '^drivers/', '^fixtures/simulators/simulated-operator\\.ts$'], 'the daemon composes; it never imports the cli'),
    layer('cli', '^src/cli/', [CORE, '^src/', '^drivers/'], 'the cli may use everything in production code'),
    layer('fixtures', '^fixtures/', [CORE, '^src/transport/', '^drivers/', '^fixtures/'], 'simulators speak the instruments\' bytes: they may use the drivers\' tables, never the daemon'),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^(src|drivers|fixtures|benchmarks|test)/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.test.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
