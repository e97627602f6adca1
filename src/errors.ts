/**
 * Typed errors. Every error a user can meet carries the context needed to act on it
 * (port, command, fiber, key) and a stable `code`, so the CLI and HTTP layers can print a
 * one-line message instead of a stack trace, and tests can assert on the kind of failure.
 */
export type ErrorContext = Record<string, string | number | boolean | undefined>;

export class MpocertError extends Error {
  readonly code: string;
  readonly context: ErrorContext;

  constructor(code: string, message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.context = context;
  }

  /** One line for a person: the message plus the context that locates the problem. */
  describe(): string {
    const where = Object.entries(this.context)
      .filter(([, v]) => v !== undefined && v !== '')
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(' ');
    return where ? `${this.message} (${where})` : this.message;
  }
}

/** A config file, limit-set file, profile or record that does not match its schema. */
export class ConfigError extends MpocertError {
  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super('CONFIG_INVALID', message, context, options);
  }
}

/** Anything that went wrong talking to an instrument. `context.port` and `context.command` say where. */
export class InstrumentError extends MpocertError {}

export class InstrumentTimeoutError extends InstrumentError {
  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super('INSTRUMENT_TIMEOUT', message, context, options);
  }
}

/** A reply arrived but is not what the dialect allows (garbled, wrong length, out of range). */
export class InstrumentReplyError extends InstrumentError {
  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super('INSTRUMENT_BAD_REPLY', message, context, options);
  }
}

/** The instrument reported an error itself (SCPI error queue, Modbus exception). */
export class InstrumentReportedError extends InstrumentError {
  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super('INSTRUMENT_REPORTED_ERROR', message, context, options);
  }
}

/** The port is closed, unplugged, or could not be opened. */
export class InstrumentDisconnectedError extends InstrumentError {
  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super('INSTRUMENT_DISCONNECTED', message, context, options);
  }
}

/** A job cannot start or must stop: bench busy, expired reference, wrong gender, worn cord. */
export class JobRefusedError extends MpocertError {}

/** Input that a person or program sent us and that we cannot accept (record, HTTP body, CLI). */
export class InputError extends MpocertError {
  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super('INPUT_INVALID', message, context, options);
  }
}

export function describeError(err: unknown): string {
  if (err instanceof MpocertError) return err.describe();
  if (err instanceof Error) return err.message;
  return String(err);
}
