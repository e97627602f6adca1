import { ConfigError, describeError } from '../errors.js';
import { TrustedKeys } from '../store/trusted-keys.js';
import type { CentralTrust } from './merge.js';

/**
 * QA's pinned keys, per site, from the hub config's `trust` list: each site's trusted keys file
 * (QA's own copy, kept with the hub), read once at start. A site with no entry has no trusted key:
 * everything its benches ship waits in the inbox until QA pins their key. After a bench rotates its key, QA copies the site's
 * file again and restarts the hub.
 */
export function loadCentralTrust(entries: readonly { site: string; keysFile: string }[], source: string): CentralTrust & { sites(): string[] } {
  const bySite = new Map<string, TrustedKeys>();
  entries.forEach((e, i) => {
    try {
      bySite.set(e.site, TrustedKeys.load(e.keysFile));
    } catch (err) {
      throw new ConfigError(`config key trust/${i}/keysFile: site ${e.site}: ${describeError(err)}`, { file: source, key: `trust/${i}/keysFile` });
    }
  });
  return {
    forSite: (site) => bySite.get(site),
    sites: () => [...bySite.keys()],
  };
}
