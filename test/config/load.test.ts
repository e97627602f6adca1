import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { DEMO_CONFIG } from '../../src/cli/demo.js';
import { tempDir } from '../helpers/daemon-harness.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => (tmp = tempDir('mpocert-config-')));
afterEach(() => tmp.remove());

const valid = (): Record<string, any> => ({
  dataDir: 'data',
  http: { token: 'a-token-of-16-chars' },
  benches: [
    {
      id: 'b1',
      method: { kind: 'switch-and-meter', powerMeter: 'pm', switch: 'sw' },
      instruments: [
        { id: 'pm', dialect: 'thorlabs-pm100', transport: { kind: 'serial', path: '/dev/ttyUSB0' } },
        { id: 'sw', dialect: 'dicon-mems-switch', transport: { kind: 'tcp', host: '10.0.0.5', port: 5025 } },
      ],
      operator: { kind: 'manual' },
    },
  ],
});

function write(content: unknown, name = 'c.json'): string {
  const p = join(tmp.dir, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('config loading', () => {
  it('fills defaults and resolves relative paths against the file', () => {
    const cfg = loadConfig(write(valid()));
    expect(cfg.dataDir).toBe(join(tmp.dir, 'data'));
    expect(cfg.http).toEqual({ host: '127.0.0.1', port: 8750, token: 'a-token-of-16-chars' });
    expect(cfg.reference.maxAgeHours).toBe(24);
    expect(cfg.evaluation).toEqual({ guardBandDb: 0.05, driftThresholdDb: 0.1 });
    expect(cfg.benches[0]!.wavelengthsNm).toEqual([850, 1300]);
    expect(cfg.benches[0]!.fiberCount).toBe(12);
  });

  it('loads the shipped demo config', () => {
    const cfg = loadConfig(DEMO_CONFIG);
    expect(cfg.benches.map((b) => b.id)).toEqual(['demo']);
    expect(cfg.http.port).toBe(8750);
  });

  it('names a misspelt key', () => {
    const c = valid();
    c.benches[0].wavelenghtsNm = [850];
    const e = errorOf(() => loadConfig(write(c)));
    expect(e.message).toBe(
      'config key benches/0/wavelenghtsNm: unknown key (misspelt?); known keys here: id, title, instruments, method, channelOffset, fiberCount, wavelengthsNm, operator, testCords, defaultProduct, source',
    );
    expect(e.context).toMatchObject({ key: 'benches/0/wavelenghtsNm', file: join(tmp.dir, 'c.json') });
  });

  it('names a wrongly typed value deep in an instrument', () => {
    const c = valid();
    c.benches[0].instruments[1].transport.port = 'fifty';
    expect(errorOf(() => loadConfig(write(c))).message).toBe('config key benches/0/instruments/1/transport/port: must be integer');
  });

  it('names a misspelt key in the union branch that kind names (serial), not a required key of another (tcp)', () => {
    const c = valid();
    c.benches[0].instruments[0].transport.framing = '8N1';
    expect(errorOf(() => loadConfig(write(c))).message).toBe(
      'config key benches/0/instruments/0/transport/framing: unknown key (misspelt?); known keys here: kind, path, baudRate, dataBits, parity, stopBits, rtscts',
    );
  });

  it('lists the allowed values once, from the branch kind names', () => {
    const serial = valid();
    serial.benches[0].instruments[0].transport.parity = 'N';
    const allowed = 'must be one of "none", "even", "odd", "mark", "space"';
    expect(errorOf(() => loadConfig(write(serial))).message).toBe(`config key benches/0/instruments/0/transport/parity: ${allowed}`);
    // modbus-rtu shares the serial fields: the same message, not the values of both branches.
    const rtu = valid();
    rtu.benches[0].instruments[1].transport = { kind: 'modbus-rtu', path: '/dev/ttyUSB1', unitId: 1, parity: 'N' };
    expect(errorOf(() => loadConfig(write(rtu))).message).toBe(`config key benches/0/instruments/1/transport/parity: ${allowed}`);
  });

  it('says which kinds exist when kind matches no branch', () => {
    const c = valid();
    c.benches[0].instruments[0].transport.kind = 'serail';
    expect(errorOf(() => loadConfig(write(c))).message).toBe('config key benches/0/instruments/0/transport/kind: must be one of "tcp", "serial", "modbus-tcp", "modbus-rtu"');
  });

  it('names a missing key', () => {
    const c = valid();
    delete c.dataDir;
    expect(errorOf(() => loadConfig(write(c))).message).toBe('config key dataDir: is required');
  });

  it('refuses a method that names an instrument the bench does not have', () => {
    const c = valid();
    c.benches[0].method.switch = 'sw2';
    expect(errorOf(() => loadConfig(write(c))).message).toBe('config key benches/0/method/switch: no instrument with id "sw2" on bench "b1" (have: pm, sw)');
  });

  it('takes a light-source role naming an instrument of the bench, and refuses one that names none', () => {
    const c = valid();
    c.benches[0].method.lightSource = 'src';
    expect(errorOf(() => loadConfig(write(c))).message).toBe('config key benches/0/method/lightSource: no instrument with id "src" on bench "b1" (have: pm, sw)');
    c.benches[0].instruments.push({ id: 'src', dialect: 'keysight-8163b-source', slot: 1, transport: { kind: 'tcp', host: '127.0.0.1', port: 5025 } });
    expect(loadConfig(write(c)).benches[0]!.method).toMatchObject({ kind: 'switch-and-meter', lightSource: 'src' });
  });

  it('refuses a channel offset on the MPO-source method, which has no switch channels to offset', () => {
    const c = valid();
    c.benches[0].method = { kind: 'mpo-source-and-multiport-meter', mpoSource: 'sw', multiPortMeter: 'pm' };
    c.benches[0].channelOffset = 2;
    expect(errorOf(() => loadConfig(write(c))).message).toBe(
      'config key benches/0/channelOffset: the mpo-source-and-multiport-meter method has no switch channels; remove channelOffset',
    );
  });

  it('refuses duplicate instrument ids', () => {
    const c = valid();
    c.benches[0].instruments[1].id = 'pm';
    expect(errorOf(() => loadConfig(write(c))).message).toBe('config key benches/0/instruments/1/id: instrument id "pm" is used twice');
  });

  it('refuses to start without a write token', () => {
    const c = valid();
    delete c.http.token;
    expect(errorOf(() => loadConfig(write(c))).message).toBe(
      'config key http: set token or tokenFile to a bearer token of at least 16 characters; every write needs it',
    );
  });

  it('reads the token from tokenFile, relative to the config', () => {
    writeFileSync(join(tmp.dir, 'token'), 'file-token-0123456789\n', { mode: 0o600 });
    const c = valid();
    delete c.http.token;
    c.http.tokenFile = 'token';
    expect(loadConfig(write(c)).http.token).toBe('file-token-0123456789');
  });

  it('refuses a token file others can read (whoever reads it can certify)', () => {
    const tokenFile = join(tmp.dir, 'token');
    writeFileSync(tokenFile, 'file-token-0123456789\n');
    chmodSync(tokenFile, 0o644);
    const c = valid();
    delete c.http.token;
    c.http.tokenFile = 'token';
    expect(errorOf(() => loadConfig(write(c))).message).toBe(`http.tokenFile ${tokenFile} has mode 0644: other users may read or change it; chmod 0600 (or 0640 root:mpocert)`);
    chmodSync(tokenFile, 0o660);
    expect(errorOf(() => loadConfig(write(c))).message).toBe(`http.tokenFile ${tokenFile} has mode 0660: other users may read or change it; chmod 0600 (or 0640 root:mpocert)`);
    // Root-owned, readable by the daemon's group only: the daemon cannot change it.
    chmodSync(tokenFile, 0o640);
    expect(loadConfig(write(c)).http.token).toBe('file-token-0123456789');
  });

  it('refuses a token with whitespace inside (a Bearer header could never carry it)', () => {
    const c = valid();
    c.http.token = 'two words token 0123456789';
    expect(errorOf(() => loadConfig(write(c))).message).toBe(
      'config key http: the token contains whitespace; use a token of printable characters (openssl rand -hex 32)',
    );
  });

  it('reports YAML syntax errors with the line', () => {
    const e = errorOf(() => loadConfig(write('dataDir: data\nbenches:\n  - id: [unclosed\n', 'c.yaml')));
    expect(e.message).toMatch(/^config file is not valid YAML\/JSON: /);
    expect(e.context.line).toBe(4);
  });

  it('says so when the file cannot be read', () => {
    expect(errorOf(() => loadConfig(join(tmp.dir, 'missing.yaml'))).message).toBe('cannot read config file: ENOENT');
  });
});
