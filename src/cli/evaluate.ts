import { readFileSync } from 'node:fs';
import { describeError, InputError } from '../errors.js';
import type { PreviousCertificate } from '../evaluation/drift.js';
import { evaluateRecord, type EvaluateOptions } from '../evaluation/evaluate.js';
import { loadLimitLibrary } from '../evaluation/load-limit-library.js';
import { exitCodeFor } from '../evaluation/outcome.js';
import { parseTestRecord } from '../evaluation/parse-record.js';

export interface CommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface EvaluateCommandOptions extends Omit<EvaluateOptions, 'previous'> {
  /** Where output goes; default process.stdout / process.stderr. */
  io?: CommandIo;
  /** Directory of user limit sets, beside the shipped ones. */
  limitsDir?: string;
  /** A previous certificate (JSON printed by this command) of the same serial number or link id. */
  previousPath?: string;
}

/**
 * `mpocert evaluate <record.json>`: judges a recorded test offline and prints the certificate as
 * JSON. Returns the exit code: 0 PASS/MARGINAL, 1 FAIL, 2 INVALID or bad input (one line on
 * stderr naming the bad field, no stack trace).
 */
export async function runEvaluateCommand(path: string, options: EvaluateCommandOptions = {}): Promise<0 | 1 | 2> {
  const { io = processIo, limitsDir, previousPath, ...evaluateOptions } = options;
  try {
    const record = parseTestRecord(readJson(path, 'record'));
    const library = loadLimitLibrary({ userDir: limitsDir });
    const previous = previousPath === undefined ? undefined : (readJson(previousPath, 'previous certificate') as PreviousCertificate);
    const evaluation = evaluateRecord(record, library, { ...evaluateOptions, ...(previous ? { previous } : {}) });
    io.stdout(`${JSON.stringify(evaluation, null, 2)}\n`);
    return exitCodeFor(evaluation.verdict);
  } catch (err) {
    io.stderr(`mpocert evaluate: ${describeError(err).replace(/\s*\n\s*/g, ' ')}\n`);
    return 2;
  }
}

const processIo: CommandIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(`${path}: cannot read the ${what}: ${describeError(err)}`, {}, { cause: err });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new InputError(`${path}: the ${what} is not JSON: ${describeError(err)}`, {}, { cause: err });
  }
}
