import ipaddr from 'ipaddr.js';

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * A matcher for CALLHOOK_WEBHOOK_ALLOW: CIDRs or single addresses, IPv4 or IPv6. IPv4-mapped IPv6
 * addresses (::ffff:10.0.0.1, as dual-stack sockets report them) match IPv4 ranges.
 */
export function compileAllowList(entries: readonly string[]): (address: string) => boolean {
  const ranges: Range[] = entries.map((entry) => {
    try {
      if (entry.includes('/')) return ipaddr.parseCIDR(entry);
      const addr = ipaddr.parse(entry);
      return [addr, addr.kind() === 'ipv4' ? 32 : 128];
    } catch {
      throw new Error(`CALLHOOK_WEBHOOK_ALLOW: "${entry}" is not an IP address or CIDR such as 203.0.113.0/24`);
    }
  });
  return (address) => {
    let addr: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      addr = ipaddr.process(address);
    } catch {
      return false;
    }
    return ranges.some(([range, bits]) => range.kind() === addr.kind() && addr.match(range, bits));
  };
}
