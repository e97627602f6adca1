/**
 * Public entry of the evaluation engine: records, limit library, evaluation, setup checks,
 * polarity. The daemon's pipeline and `mpocert evaluate` both go through evaluateRecord.
 */
export {
  TestRecordSchema,
  AssemblyRecordSchema,
  LinkRecordSchema,
  fiberClassOf,
  type TestRecord,
  type AssemblyRecord,
  type LinkRecord,
  type Reading,
  type Connector,
  type TestSetup,
  type TestCord,
  type BenchPort,
  type End,
  type FiberType,
  type FiberClass,
  type PolarityType,
  type PolarityMethod,
  type PolarityDeclaration,
} from './record-schema.js';
export { parseTestRecord } from './parse-record.js';
export { loadLimitLibrary, shippedLimitsDir, type LoadLimitLibraryOptions } from './load-limit-library.js';
export { LimitSetFileSchema, type LimitSetFile } from './limit-set-schema.js';
export {
  compareVersions,
  type LimitLibrary,
  type LimitSet,
  type LimitSetSummary,
  type LimitSetVersionRef,
  type Figure,
  type ConnectorGrade,
  type Application,
  type ApplicationChannel,
} from './limit-set.js';
export {
  evaluateRecord,
  DEFAULT_GUARD_BAND_DB,
  DEFAULT_REFERENCE_ERROR_THRESHOLD_DB,
  DEFAULT_DRIFT_THRESHOLD_DB,
  type Evaluation,
  type EvaluateOptions,
} from './evaluate.js';
export { type Judgment, type FiberResult, lossOf } from './judge-readings.js';
export { LIMIT_EPSILON_DB, DB_RESOLUTION, roundDb, roundLimitDb, roundValueDb, lossFromPowers, judgeAgainst, formatDb, type Limit, type Verdict } from './judge.js';
export { type LinkBudget, type LinkLengthJudgment } from './link-limits.js';
export { type Outcome, worstOf, exitCodeFor } from './outcome.js';
export {
  checkSetup,
  assertSetupAccepted,
  WEAR_WARNING_FRACTION,
  type SetupPlan,
  type SetupCheck,
  type SetupIssue,
  type SetupIssueCode,
  type WearStatus,
} from './setup-check.js';
export {
  expectedMap,
  classifyPolarity,
  composeMaps,
  polarityTypeOf,
  type FiberMap,
  type MeasuredMapInput,
  type PolarityClassification,
  type PolarityDifference,
  type PolarityDifferenceKind,
} from './polarity.js';
export { type PolarityResult } from './polarity-result.js';
export { fiberPositions, type FiberCount } from './fiber-positions.js';
export { type DriftReport, type DriftEntry, type PreviousCertificate } from './drift.js';
