/**
 * What a reader gets back from a target's artifacts, in terms of the platform's
 * own semantics, written without the compiler's net/ or plan/ code: prefixes
 * and containment come from the independent `ip-cidr` library.
 */
import IPCIDR from 'ip-cidr';

export type Via = 'tunnel' | 'direct';

export interface Range {
  readonly family: 4 | 6;
  readonly lo: bigint;
  readonly hi: bigint;
  readonly length: number;
  readonly text: string;
}

export function familyOf(text: string): 4 | 6 {
  return text.includes(':') ? 6 : 4;
}

/** A CIDR (or a bare address as a host prefix) as an inclusive range; throws on anything else. */
export function range(text: string): Range {
  const cidr = text.includes('/') ? text : `${text}/${familyOf(text) === 4 ? 32 : 128}`;
  if (!IPCIDR.isValidCIDR(cidr)) throw new Error(`reader: not a CIDR: ${JSON.stringify(text)}`);
  const c = new IPCIDR(cidr);
  const length = Number(cidr.slice(cidr.indexOf('/') + 1));
  const lo = c.start({ type: 'bigInteger' }) as unknown as bigint;
  const hi = c.end({ type: 'bigInteger' }) as unknown as bigint;
  return { family: familyOf(text), lo, hi, length, text };
}

export function addressValue(text: string): { family: 4 | 6; value: bigint } {
  const r = range(text);
  return { family: r.family, value: r.lo };
}

/** A routing table: the longest matching prefix decides; no match is the OS default route (direct). */
export class RouteTable {
  private readonly routes: { r: Range; via: Via }[] = [];
  add(cidr: string, via: Via): void {
    this.routes.push({ r: range(cidr), via });
  }
  get size(): number {
    return this.routes.length;
  }
  count(via: Via): number {
    return this.routes.filter((x) => x.via === via).length;
  }
  lookup(address: string): Via {
    const a = addressValue(address);
    let best: { r: Range; via: Via } | undefined;
    for (const x of this.routes) {
      if (x.r.family !== a.family || a.value < x.r.lo || a.value > x.r.hi) continue;
      if (!best || x.r.length > best.r.length) best = x;
      else if (x.r.length === best.r.length && x.via !== best.via) throw new Error(`reader: conflicting routes for ${x.r.text}`);
    }
    return best ? best.via : 'direct';
  }
}

/** A set of addresses (firewall tables). */
export class AddressSet {
  private readonly ranges: Range[] = [];
  add(cidr: string): void {
    this.ranges.push(range(cidr));
  }
  has(address: string): boolean {
    const a = addressValue(address);
    return this.ranges.some((r) => r.family === a.family && a.value >= r.lo && a.value <= r.hi);
  }
  get size(): number {
    return this.ranges.length;
  }
}

export interface DnsModel {
  readonly servers: readonly string[];
  readonly search: readonly string[];
  /** Names the OS sends to these servers: [''] means every name. */
  readonly matchDomains: readonly string[];
}

export interface TargetModel {
  /** Null when the artifacts install no routes. */
  readonly routes: RouteTable | null;
  /** Does the firewall block this destination on an interface other than the tunnel? Null without a firewall. */
  readonly blockedOffTunnel: ((address: string) => boolean) | null;
  readonly dns: DnsModel | null;
  /** Free text read back from the artifacts (descriptions), in order. */
  readonly texts: readonly string[];
  /** Host names listed for resolution. */
  readonly hosts: readonly string[];
}
