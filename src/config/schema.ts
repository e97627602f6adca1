import { Type, type Static } from '@sinclair/typebox';
import { InstrumentConfigSchema } from '../../drivers/registry.js';
import { ConnectorSchema } from '../evaluation/record-schema.js';

const Id = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', description: 'letters, digits, _ . -' });

/**
 * The light source the bench sets to each sweep's wavelength (its output on for the sweep, off
 * after it). Without one, a source is set by hand to the wavelength of each sweep.
 */
const LightSourceRole = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$',
  description: 'instrument id of the light source the bench sets to each sweep wavelength; without it the source is set by hand',
});

/** How the bench turns light into per-fiber readings. */
const MeasurementMethodSchema = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('switch-and-meter'),
      powerMeter: Id,
      switch: Id,
      lightSource: Type.Optional(LightSourceRole),
    },
    { additionalProperties: false, description: '1xN switch fans the source out to each fiber; a meter reads it' },
  ),
  Type.Object(
    { kind: Type.Literal('switch-and-multiport-meter'), switch: Id, multiPortMeter: Id, lightSource: Type.Optional(LightSourceRole) },
    {
      additionalProperties: false,
      description:
        '1xN switch lights each fiber; a multi-port meter reads every far-end position at once, so the bench measures loss and polarity in one pass. Its MPO receptacle must couple each position onto its detector (no fiber-to-fiber mating); a fan-out to the ports is a mated pair: declare it as testCords.receiveCord',
    },
  ),
  Type.Object(
    { kind: Type.Literal('mpo-source-and-multiport-meter'), mpoSource: Id, multiPortMeter: Id },
    {
      additionalProperties: false,
      description:
        'an MPO source with one output per fiber lights coded subsets of the fibers and a multi-port meter reads every far-end position in one query: m readings per wavelength (6 for 12 fibers, 7 for 24), each fiber lit in half of them, give every loss and which fiber arrives where (polarity); light leaking between fibers, a stuck output or readings that disagree abort the job. Same receptacle rule as switch-and-multiport-meter; no channelOffset',
    },
  ),
  Type.Object(
    { kind: Type.Literal('loss-test-set'), lossTestSet: Id },
    { additionalProperties: false, description: 'an MPO loss-test set measures every fiber itself' },
  ),
]);

/**
 * Who connects the device under test. 'manual': a person does it before starting the job.
 * 'simulated': stands in for that person on a simulated bench, over its control port, inserting
 * the sample assembly listed for the serial number.
 */
const OperatorSchema = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('manual'),
      // Not a schema default: ajv does not apply defaults inside union branches.
      confirmTimeoutS: Type.Optional(Type.Integer({ minimum: 5, maximum: 86_400, description: 'how long a step waits for the person at the bench; default 600' })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('simulated'),
      host: Type.String({ default: '127.0.0.1' }),
      port: Type.Integer({ minimum: 0, maximum: 65535 }),
      assemblies: Type.Record(Type.String(), Type.String(), {
        description: 'serial number or link id -> sample assembly fixture name',
      }),
      confirmSteps: Type.Optional(
        Type.Boolean({ description: 'ask the person (console, CLI) to confirm each physical step as a real bench does, then do it on the simulated bench; default false: the stand-in does each step at once' }),
      ),
      confirmTimeoutS: Type.Optional(Type.Integer({ minimum: 5, maximum: 86_400, description: 'with confirmSteps: how long a step waits; default 600' })),
    },
    { additionalProperties: false },
  ),
]);

/**
 * A test cord or bench port whose matings are counted: each job mates it once with the device
 * under test. Its count lives in the database; replacing the cord means giving it a new id.
 */
const CountedConnectorSchema = Type.Object(
  {
    id: Id,
    connector: ConnectorSchema,
    ratedMatingCycles: Type.Optional(Type.Integer({ minimum: 1, description: 'overrides the rated cycles of its grade' })),
  },
  { additionalProperties: false },
);

const TestCordsSchema = Type.Object(
  {
    launchCord: Type.Optional(CountedConnectorSchema),
    receiveCord: Type.Optional(CountedConnectorSchema),
    benchPort: Type.Optional(CountedConnectorSchema),
    referencePlug: Type.Optional(
      Type.Object(
        { id: Id, connector: ConnectorSchema },
        {
          additionalProperties: false,
          description: 'the reference-grade connector the launch cord is verified against, as the second step of every reference',
        },
      ),
    ),
  },
  { additionalProperties: false, default: {}, description: 'connector = the end that mates with the device under test' },
);

export const BenchConfigSchema = Type.Object(
  {
    id: Id,
    title: Type.Optional(Type.String()),
    instruments: Type.Array(InstrumentConfigSchema, { minItems: 1 }),
    method: MeasurementMethodSchema,
    /** Fiber n is lit through switch channel channelOffset + n. */
    channelOffset: Type.Integer({ minimum: 0, default: 0 }),
    fiberCount: Type.Union([Type.Literal(8), Type.Literal(12), Type.Literal(16), Type.Literal(24)], { default: 12 }),
    wavelengthsNm: Type.Array(Type.Integer({ minimum: 600, maximum: 1700 }), { minItems: 1, default: [850, 1300] }),
    operator: OperatorSchema,
    testCords: TestCordsSchema,
    defaultProduct: Type.Optional(Type.String({ description: 'product certified when a job names none' })),
    /**
     * The source's nominal output per wavelength (dBm, key = nm). A reference further below it than
     * `maxBelowDb` is refused: something besides the launch cord is in the path.
     */
    source: Type.Optional(
      Type.Object(
        {
          nominalDbm: Type.Record(Type.String({ pattern: '^[0-9]+$' }), Type.Number()),
          maxBelowDb: Type.Number({ exclusiveMinimum: 0, default: 1.0 }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const DaemonConfigSchema = Type.Object(
  {
    dataDir: Type.String({ description: 'database, signing key; relative to this file' }),
    logLevel: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace'].map((l) => Type.Literal(l)),
      { default: 'info' },
    ),
    http: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8750 }),
        token: Type.Optional(Type.String({ minLength: 16, description: 'bearer token every write must carry' })),
        tokenFile: Type.Optional(Type.String({ description: 'file holding the bearer token; relative to this file' })),
      },
      { additionalProperties: false, default: {} },
    ),
    limits: Type.Object(
      { userDir: Type.Optional(Type.String({ description: 'extra limit-set files; relative to this file' })) },
      { additionalProperties: false, default: {} },
    ),
    trust: Type.Object(
      {
        keysFile: Type.Optional(
          Type.String({
            description:
              'the trusted public keys (outside the database; on a production bench a root-owned file the daemon cannot write); default <dataDir>/trusted-keys.json; relative to this file',
          }),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    evaluation: Type.Object(
      {
        guardBandDb: Type.Number({ minimum: 0, maximum: 1, default: 0.05 }),
        driftThresholdDb: Type.Number({ minimum: 0, default: 0.1 }),
      },
      { additionalProperties: false, default: {} },
    ),
    reference: Type.Object(
      {
        maxAgeHours: Type.Number({ exclusiveMinimum: 0, default: 24 }),
        maxDropDb: Type.Number({
          exclusiveMinimum: 0,
          default: 0.2,
          description: 'a reference this far below the last accepted one (same cord, wavelength, fiber) is refused: something else is in the path',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    cordVerification: Type.Object(
      {
        maxAgeDays: Type.Number({ exclusiveMinimum: 0, default: 7 }),
        maxMatings: Type.Integer({ minimum: 0, default: 100 }),
      },
      { additionalProperties: false, default: {}, description: 'how long a reference-cord verification stays valid' },
    ),
    /**
     * What a factory builds, by part number: the fixed description of an assembly (fiber count,
     * type, connectors, polarity, limit set) so a job only needs a serial number. Validated
     * against the test-record subject schema when the daemon starts.
     */
    products: Type.Record(Type.String({ minLength: 1 }), Type.Record(Type.String(), Type.Unknown()), { default: {} }),
    benches: Type.Array(BenchConfigSchema, { minItems: 1 }),
    /**
     * Replication to the central QA store (PostgreSQL). Absent: nothing is replicated and the
     * daemon behaves as a single bench always has (its outbox still queues everything, so turning
     * replication on later ships the whole history).
     */
    central: Type.Optional(
      Type.Object(
        {
          site: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', description: 'this site, as QA knows it (a bench is site + bench id centrally)' }),
          postgresUrl: Type.Optional(Type.String({ minLength: 1, description: 'postgres://user:password@host:port/db' })),
          postgresUrlFile: Type.Optional(Type.String({ minLength: 1, description: 'a file holding the URL (it holds a password: mode 0600 or 0640)' })),
          batchSize: Type.Integer({ minimum: 1, maximum: 5000, default: 200 }),
          intervalMs: Type.Integer({ minimum: 50, maximum: 600_000, default: 1000 }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export type BenchConfig = Static<typeof BenchConfigSchema>;
export type DaemonConfigFile = Static<typeof DaemonConfigSchema>;

/** The config after loading: paths absolute, token read, cross-references checked. */
export interface DaemonConfig extends Omit<DaemonConfigFile, 'http' | 'central'> {
  http: { host: string; port: number; token: string };
  /** Replication, with the URL read (from postgresUrlFile when given). */
  central?: { site: string; postgresUrl: string; batchSize: number; intervalMs: number };
  /** The file it was loaded from, for messages. */
  source: string;
}
