/**
 * The Linux target's options (`targets.linux`): schema fragment, defaults and checks.
 * The profile schema is assembled from this (src/profile/schema.ts), and the validator
 * runs `validate` through the registry row; nothing else decides these values.
 */
import { checkInterfaceName, defineTargetOptions, type OptionsOf } from '../../src/profile/target-options.js';

export const DEFAULT_LINUX = {
  interface: 'CloudflareWARP',
  table: 65743,
  fwmark: 0x100cf,
  rulePriority: 32000,
  nftTable: 'cloudflare-warp',
  dnsManager: 'auto' as const,
};

/** nft identifiers: letters, digits and a few separators. */
const NFT_TABLE = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;

export const linuxOptions = defineTargetOptions({
  name: 'linux',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      interface: { description: 'The tunnel interface warpc creates.', type: 'string', default: DEFAULT_LINUX.interface },
      table: { description: 'Routing table for tunnel routes.', type: 'integer', default: DEFAULT_LINUX.table },
      fwmark: { description: "Mark carried by the client's own packets; they skip the tunnel table.", type: 'integer', default: DEFAULT_LINUX.fwmark },
      rule_priority: { description: 'Priority of the policy routing rules.', type: 'integer', default: DEFAULT_LINUX.rulePriority },
      nft_table: { description: "The nftables table of warpc's firewall.", type: 'string', default: DEFAULT_LINUX.nftTable },
      dns_manager: { description: 'How warpc up points the system at the DNS proxy: through resolv.conf, systemd-resolved, or auto (detected).', enum: ['auto', 'resolv.conf', 'systemd-resolved'], default: DEFAULT_LINUX.dnsManager },
    },
  },
  validate(lx = {}, check) {
    const linux = {
      interface: lx.interface ?? DEFAULT_LINUX.interface,
      table: lx.table ?? DEFAULT_LINUX.table,
      fwmark: lx.fwmark ?? DEFAULT_LINUX.fwmark,
      rulePriority: lx.rule_priority ?? DEFAULT_LINUX.rulePriority,
      nftTable: lx.nft_table ?? DEFAULT_LINUX.nftTable,
      dnsManager: lx.dns_manager ?? DEFAULT_LINUX.dnsManager,
    };
    checkInterfaceName(check, linux.interface, ['interface']);
    const reason = reservedLinuxIfname(linux.interface);
    if (reason) check.report('ReservedInterfaceName', { field: 'targets.linux.interface', value: linux.interface, reason, default: DEFAULT_LINUX.interface }, ['interface']);
    // Table numbers: 0 (unspec), 253–255 (default/main/local) are the kernel's; 2^32-1 is invalid.
    const numberRange = (field: string, value: number, min: number, max: number, reserved: number[] = []): void => {
      if (value < min || value > max || reserved.includes(value)) {
        check.report('LinuxNumberRange', { field, value, min, max: reserved.length ? `${max} (not ${reserved.join(', ')})` : max }, [field]);
      }
    };
    numberRange('table', linux.table, 1, 0xfffffffe, [253, 254, 255]);
    numberRange('fwmark', linux.fwmark, 1, 0xffffffff);
    numberRange('rule_priority', linux.rulePriority, 1, 32765);
    if (!NFT_TABLE.test(linux.nftTable)) {
      check.report('InvalidName', { value: linux.nftTable, what: 'nft table name', reason: 'an nft table name is a letter followed by letters, digits, "_" or "-" (at most 32)' }, ['nft_table']);
    }
    return linux;
  },
});

export type LinuxOptions = OptionsOf<typeof linuxOptions>;

declare module '../../src/profile/types.js' {
  interface TargetOptionsByName {
    readonly linux: Readonly<LinuxOptions>;
  }
}

/**
 * Linux interface names warpc must not use for its tunnel, and why: the kernel's own
 * names (`all` and `default` are the net.ipv4.conf/net.ipv6.conf keys and are refused
 * by `ip link add`), loopback, and the names the kernel and udev give physical NICs
 * (`eth0`, `wlan0`, `wwan0`, and the predictable names `en…`, `wl…`, `ww…`, `ib…`, `sl…`
 * followed by a type letter and an index: eno1, ens33, enp3s0, enx00e04c680001, wlp2s0).
 * The runtime also refuses any name that already exists when `up` starts; this
 * catches the common ones at compile time, before a profile is shipped.
 */
export function reservedLinuxIfname(name: string): string | null {
  if (name === 'all' || name === 'default') return 'is reserved by the kernel (net.ipv4.conf.all/default)';
  if (name === 'lo') return 'is the loopback interface';
  if (/^(eth|wlan|wwan)[0-9]+$/.test(name) || /^(en|wl|ww|ib|sl)(o[0-9]|s[0-9]|p[0-9]|x[0-9a-f]{12}|b[0-9]|P[0-9]|v[0-9]|a[0-9]|c[0-9]|i[0-9])/.test(name)) {
    return 'is a name Linux gives physical network interfaces';
  }
  return null;
}
