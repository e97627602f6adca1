/**
 * What the pipeline may ask of an instrument. The pipeline knows these capabilities, never a
 * dialect: a driver in drivers/ implements one or more of them for one instrument family.
 * All optical powers are dBm and all wavelengths nm, whatever the instrument's native unit.
 */

export interface InstrumentIdentity {
  manufacturer: string;
  model: string;
  serialNumber: string;
  firmware: string;
  /** The raw identification reply (e.g. the *IDN? line), kept verbatim for the certificate. */
  raw: string;
}

export type InstrumentState = 'offline' | 'connecting' | 'online' | 'reconnecting' | 'closed';

export interface InstrumentStatus {
  id: string;
  dialect: string;
  /** Where it is attached, as a person would name it: "/dev/ttyUSB0" or "tcp://10.0.0.5:5025". */
  port: string;
  state: InstrumentState;
  identity?: InstrumentIdentity;
  lastError?: { message: string; code: string; at: string };
}

export interface Instrument {
  readonly id: string;
  readonly dialect: string;
  /** Opens the transport and identifies the instrument. Rejects with an InstrumentError. */
  connect(): Promise<InstrumentIdentity>;
  identify(): Promise<InstrumentIdentity>;
  status(): InstrumentStatus;
  close(): Promise<void>;
}

export interface PowerMeter extends Instrument {
  readonly capabilities: { powerMeter: true };
  setWavelength(nm: number): Promise<void>;
  getWavelength(): Promise<number>;
  /** One settled reading in dBm. Rejects (never returns a number) on no light, saturation or a bad reply. */
  readPowerDbm(): Promise<number>;
  /**
   * Asks the meter for its unit and wavelength and rejects (InstrumentReportedError, code
   * METER_SETTINGS_CHANGED) when they are not what the driver set: a power cycle or a hand on the
   * front panel since. The pipeline calls it after every sweep of readings, so a sweep taken
   * under changed settings is thrown away with its job rather than certified.
   */
  confirmSettings(wavelengthNm: number): Promise<void>;
  zero(): Promise<void>;
}

export interface LightSource extends Instrument {
  readonly capabilities: { lightSource: true };
  setWavelength(nm: number): Promise<void>;
  setOutput(on: boolean): Promise<void>;
}

export interface OpticalSwitch extends Instrument {
  readonly capabilities: { opticalSwitch: true };
  channelCount(): Promise<number>;
  /** Selects output channel n (1-based) and resolves once the switch reports it selected. */
  selectChannel(n: number): Promise<void>;
  selectedChannel(): Promise<number>;
}

/** One fiber's result from an MPO loss-test set. */
export interface LossTestFiberResult {
  /** 1-based position at the launch end. */
  fiber: number;
  wavelengthNm: number;
  lossDb: number;
  powerDbm: number;
  /** Position at the far end where this fiber's light arrived; null when no light arrived (dark). */
  receivedAt: number | null;
}

export interface LossTestSet extends Instrument {
  readonly capabilities: { lossTestSet: true };
  fiberCount(): Promise<number>;
  /** Stores the 1-cord reference at the given wavelengths inside the instrument. */
  reference(wavelengthsNm: number[]): Promise<void>;
  /** Measures every fiber at one wavelength against the stored reference. */
  measureAll(wavelengthNm: number): Promise<LossTestFiberResult[]>;
}

/** What one port of a multi-port meter saw: a power, or why there is none. */
export type PortReading = number | 'no-light' | 'saturated';

/**
 * A meter with one detector per MPO position (a multi-port meter behind the far end): every
 * position is read in one query, so the bench sees where each fiber's light arrives (polarity)
 * as well as how much (loss).
 */
export interface MultiPortPowerMeter extends Instrument {
  readonly capabilities: { multiPortPowerMeter: true };
  /** Detector ports available (1-based positions 1..n). */
  portCount(): Promise<number>;
  setWavelength(nm: number): Promise<void>;
  /** Every port at once, index 0 = port 1. */
  readAllPorts(): Promise<PortReading[]>;
  /** As PowerMeter.confirmSettings: rejects with METER_SETTINGS_CHANGED when unit or wavelength changed. */
  confirmSettings(wavelengthNm: number): Promise<void>;
}

/**
 * A light source with one output per MPO position, each switched on or off on its own (a source
 * behind a 1xN splitter and a per-fiber shutter array, or a multi-channel MPO source). With a
 * multi-port meter at the far end it lights every fiber at once, so one reading gives every
 * fiber's loss; lighting coded subsets tells which fiber arrives at which position (polarity).
 */
export interface MultiFiberLightSource extends Instrument {
  readonly capabilities: { multiFiberLightSource: true };
  /** Outputs available (fibers 1..n). */
  fiberCount(): Promise<number>;
  /** Sets the emitted wavelength and resolves once it reads back. */
  setWavelength(nm: number): Promise<void>;
  /** Lights exactly these fibers (1-based; empty = dark) and resolves once the source reads them back lit. */
  light(fibers: readonly number[]): Promise<void>;
}

export type AnyInstrument = PowerMeter | LightSource | OpticalSwitch | LossTestSet | MultiPortPowerMeter | MultiFiberLightSource;

export function isPowerMeter(i: Instrument): i is PowerMeter {
  return (i as Partial<PowerMeter>).capabilities?.powerMeter === true;
}
export function isOpticalSwitch(i: Instrument): i is OpticalSwitch {
  return (i as Partial<OpticalSwitch>).capabilities?.opticalSwitch === true;
}
export function isLightSource(i: Instrument): i is LightSource {
  return (i as Partial<LightSource>).capabilities?.lightSource === true;
}
export function isMultiPortPowerMeter(i: Instrument): i is MultiPortPowerMeter {
  return (i as Partial<MultiPortPowerMeter>).capabilities?.multiPortPowerMeter === true;
}
export function isMultiFiberLightSource(i: Instrument): i is MultiFiberLightSource {
  return (i as Partial<MultiFiberLightSource>).capabilities?.multiFiberLightSource === true;
}
export function isLossTestSet(i: Instrument): i is LossTestSet {
  return (i as Partial<LossTestSet>).capabilities?.lossTestSet === true;
}
