/**
 * The MDM deployment files, from a resolved deployment: one plist-style `<dict>` for Linux and
 * Windows (`mdm.xml`), the Windows `msiexec` line, the macOS managed preferences plist and a
 * `.mobileconfig` profile (PayloadUUIDs derived from the profile's name, so output is
 * deterministic), the iOS app configuration dict, and Android managed configuration in Intune's
 * JSON shape. Pure: no I/O.
 *
 * Every string goes through xmlText (XML escapes; control characters were refused earlier) or
 * JSON.stringify; msiexec values are refused when cmd.exe would read them (`"`, `%`).
 *
 * Decides: which keys each OS file carries and their form. Must not touch: the network plan.
 */
import { createHash } from 'node:crypto';
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import { CONFIG_KEYS, type Deployment, type MdmConfig } from './deployment.js';

export type MdmOs = 'linux' | 'windows' | 'macos' | 'ios' | 'android';

/** XML character data and attribute text. */
export function xmlText(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

type V = string | number | boolean | readonly V[] | { readonly [k: string]: V };

function valueLines(v: V, pad: string): string[] {
  if (typeof v === 'string') return [`${pad}<string>${xmlText(v)}</string>`];
  if (typeof v === 'number') return [`${pad}<integer>${Math.trunc(v)}</integer>`];
  if (typeof v === 'boolean') return [`${pad}<${v}/>`];
  if (Array.isArray(v)) return [`${pad}<array>`, ...(v as V[]).flatMap((x) => valueLines(x, `${pad}  `)), `${pad}</array>`];
  return dictLines(v as { readonly [k: string]: V }, pad);
}

function dictLines(d: { readonly [k: string]: V }, pad: string): string[] {
  return [`${pad}<dict>`, ...Object.entries(d).flatMap(([k, v]) => [`${pad}  <key>${xmlText(k)}</key>`, ...valueLines(v, `${pad}  `)]), `${pad}</dict>`];
}

const PLIST_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0">\n';
const plist = (d: { readonly [k: string]: V }): string => `${PLIST_HEAD}${dictLines(d, '').join('\n')}\n</plist>\n`;

function carries(os: MdmOs, key: string): boolean {
  const only = CONFIG_KEYS[key]?.only;
  if (!only) return true;
  return (only.includes('windows') && os === 'windows') || (only.includes('mobile') && (os === 'ios' || os === 'android')) || (only.includes('android') && os === 'android');
}

/** One configuration for an OS: the top-level keys it does not set, then its own, in CONFIG_KEYS order. */
function configFor(os: MdmOs, top: MdmConfig, own: MdmConfig | null, forceAutoConnect: number | null): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const key of Object.keys(CONFIG_KEYS)) {
    const v = own?.[key] ?? top[key];
    if (v === undefined || !carries(os, key)) continue;
    out[key] = v;
  }
  if (forceAutoConnect !== null) {
    delete out['enabled'];
    out['auto_connect'] = forceAutoConnect;
  }
  return out;
}

/** The dict an OS's file holds. */
export function mdmDict(d: Deployment, os: MdmOs): Record<string, V> {
  const force = os === 'ios' ? 1 : null;
  const out: Record<string, V> = {};
  if (d.configs.length > 0) out['configs'] = d.configs.map((c) => configFor(os, d.top, c, force));
  else Object.assign(out, configFor(os, d.top, null, force));
  if (os === 'windows' && d.multiUser !== undefined) out['multi_user'] = d.multiUser;
  if (os === 'windows' && d.preLogin !== undefined) out['pre_login'] = { ...d.preLogin };
  return out;
}

/** A UUID (RFC 9562 layout, version 8: custom) from a name: the same name always gives the same UUID. */
export function stableUuid(name: string): string {
  const h = createHash('sha256').update(`warpc mdm ${name}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex').toUpperCase();
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** MSI properties and the MDM keys they set. */
const MSI_PROPERTIES: readonly [string, string][] = [
  ['ORGANIZATION', 'organization'],
  ['GATEWAY_UNIQUE_ID', 'gateway_unique_id'],
  ['AUTH_CLIENT_ID', 'auth_client_id'],
  ['AUTH_CLIENT_SECRET', 'auth_client_secret'],
  ['ONBOARDING', 'onboarding'],
  ['OVERRIDE_API_ENDPOINT', 'override_api_endpoint'],
  ['OVERRIDE_DOH_ENDPOINT', 'override_doh_endpoint'],
  ['OVERRIDE_WARP_ENDPOINT', 'override_warp_endpoint'],
  ['SERVICE_MODE', 'service_mode'],
  ['SUPPORT_URL', 'support_url'],
  ['SWITCH_LOCKED', 'switch_locked'],
];
export const MSI_FILE = 'Cloudflare_WARP_Release-x64.msi';

export interface MdmFile {
  readonly path: string;
  readonly text: string;
}

/** Every MDM file for a profile named `name`. */
export function renderMdm(name: string, d: Deployment): { files: MdmFile[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const files: MdmFile[] = [];
  files.push({ path: 'linux/mdm.xml', text: `${dictLines(mdmDict(d, 'linux'), '').join('\n')}\n` });
  files.push({ path: 'windows/mdm.xml', text: `${dictLines(mdmDict(d, 'windows'), '').join('\r\n')}\r\n` });

  // msiexec: the first configuration (the initial login) as MSI properties.
  const first = configFor('windows', d.top, d.configs[0] ?? null, null);
  const props: string[] = [];
  for (const [prop, key] of MSI_PROPERTIES) {
    const v = first[key];
    if (v === undefined) continue;
    const text = typeof v === 'boolean' ? (v ? 'true' : 'false') : String(v);
    const bad = /["%\r\n]/.exec(text);
    if (bad) {
      diagnostics.push(diag('MdmHostileString', { key: `${key} (in the msiexec command line)`, char: bad[0] === '"' ? 'a double quote' : bad[0] === '%' ? 'a percent sign' : 'a line break' }));
      continue;
    }
    props.push(`${prop}="${text}"`);
  }
  files.push({ path: 'windows/msiexec.cmd', text: `msiexec /i ${MSI_FILE} /qn ${props.join(' ')}\r\n` });

  const mac = mdmDict(d, 'macos');
  files.push({ path: 'macos/com.cloudflare.warp.plist', text: plist(mac) });
  const id = `com.cloudflare.warp.warpc.${name}`;
  files.push({
    path: 'macos/cloudflare-warp.mobileconfig',
    text: plist({
      PayloadContent: [
        {
          PayloadDisplayName: 'Cloudflare WARP',
          PayloadIdentifier: `${id}.settings`,
          PayloadType: 'com.cloudflare.warp',
          PayloadUUID: stableUuid(`${name}/payload`),
          PayloadVersion: 1,
          ...mac,
        },
      ],
      PayloadDisplayName: `Cloudflare WARP (${name})`,
      PayloadIdentifier: id,
      PayloadScope: 'System',
      PayloadType: 'Configuration',
      PayloadUUID: stableUuid(`${name}/configuration`),
      PayloadVersion: 1,
    }),
  });

  const iosWhere = [d.top, ...d.configs].find((c) => (c['auto_connect'] !== undefined && c['auto_connect'] !== 1) || c['enabled'] !== undefined);
  if (iosWhere) {
    const ac = iosWhere['auto_connect'] ?? (iosWhere['enabled'] !== undefined ? `unset (enabled ${String(iosWhere['enabled'])})` : 'unset');
    diagnostics.push(diag('MdmIosAutoConnect', { where: iosWhere === d.top ? 'deployment' : `configs[${d.configs.indexOf(iosWhere)}]`, value: String(ac) }));
  }
  files.push({ path: 'ios/app-config.xml', text: `${dictLines(mdmDict(d, 'ios'), '').join('\n')}\n` });

  const bundle = (c: Record<string, string | number | boolean>): { managedProperty: Record<string, unknown>[] } => ({
    managedProperty: Object.entries(c).map(([key, v]) => (typeof v === 'string' ? { key, valueString: v } : typeof v === 'number' ? { key, valueInteger: v } : { key, valueBool: v })),
  });
  const androidConfigs = d.configs.length > 0 ? d.configs.map((c) => configFor('android', d.top, c, null)) : [configFor('android', d.top, null, null)];
  const bundles = androidConfigs.map((c) => {
    const b = bundle(c);
    if (d.tunneledApps.length > 0) {
      b.managedProperty.push({
        key: 'tunneled_apps',
        valueBundleArray: d.tunneledApps.map((a) => ({ managedProperty: [{ key: 'app_identifier', valueString: a.app_identifier }, { key: 'is_browser', valueBool: a.is_browser }] })),
      });
    }
    return b;
  });
  const intune = { kind: 'androidenterprise#managedConfiguration', productId: 'app:com.cloudflare.cloudflareoneagent', managedProperty: [{ key: 'app_config_bundle_list', valueBundleArray: bundles }] };
  files.push({ path: 'android/managed-config.json', text: `${JSON.stringify(intune, null, 2)}\n` });
  return { files, diagnostics };
}
