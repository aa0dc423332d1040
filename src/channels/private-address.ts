/**
 * Which addresses herald refuses to deliver to unless a destination sets
 * `allowPrivateNetwork: true` (product spec, "Config"; issue 4, "Outbound
 * safety"): anything that reaches herald's own host or network rather than
 * the internet, so a destination URL cannot be turned on the cloud metadata
 * service (169.254.169.254), an admin port on localhost or the office LAN.
 *
 * The ranges are checked by Node's `net.BlockList`, which also matches an
 * IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) against the IPv4 ranges: a
 * dual-stack socket reaches 127.0.0.1 by that address too.
 *
 * The check belongs on the address a connection is actually made to, after
 * DNS: `guardLookup` wraps the resolver a socket calls at connect time, so a
 * name that resolves (or is re-pointed, DNS rebinding) to a private address is
 * refused like the address itself.
 */
import { lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/** Refused IPv4 ranges, with the RFC that sets each one aside. */
const IPV4_RANGES: Array<[network: string, prefix: number]> = [
  ['0.0.0.0', 8], // "this network" (RFC 791; 0.0.0.0 reaches the local host on Linux)
  ['10.0.0.0', 8], // private (RFC 1918)
  ['100.64.0.0', 10], // carrier-grade NAT, the provider's network (RFC 6598)
  ['127.0.0.0', 8], // loopback (RFC 1122)
  ['169.254.0.0', 16], // link-local, where cloud metadata services answer (RFC 3927)
  ['172.16.0.0', 12], // private (RFC 1918)
  ['192.168.0.0', 16], // private (RFC 1918)
];

/** Refused IPv6 ranges; IPv4-mapped addresses are matched against IPV4_RANGES by the BlockList. */
const IPV6_RANGES: Array<[network: string, prefix: number]> = [
  ['::', 128], // unspecified (RFC 4291)
  ['::1', 128], // loopback (RFC 4291)
  ['fc00::', 7], // unique local, IPv6's private range (RFC 4193)
  ['fe80::', 10], // link-local (RFC 4291)
];

/** NAT64's well-known prefix (RFC 6052): `64:ff9b::7f00:1` is 127.0.0.1 behind the translator. */
const NAT64_PREFIX = '64:ff9b::';

const refused = new BlockList();
for (const [network, prefix] of IPV4_RANGES) {
  refused.addSubnet(network, prefix, 'ipv4');
  refused.addSubnet(`${NAT64_PREFIX}${network}`, 96 + prefix, 'ipv6');
}
for (const [network, prefix] of IPV6_RANGES) refused.addSubnet(network, prefix, 'ipv6');

/**
 * Whether `address` (an IPv4 or IPv6 address, without brackets) is loopback,
 * link-local, private, CGNAT or unspecified. Anything that is not an IP
 * address is refused too: the guard has nothing it could check.
 */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  return refused.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** A connection refused by the guard; `address` is the resolved address, never the URL. */
export class RefusedAddressError extends Error {
  constructor(readonly address: string) {
    super(
      `refused to connect to a private or loopback address (${address}): ` +
        'set allowPrivateNetwork: true on this destination if it is meant to be internal',
    );
    this.name = 'RefusedAddressError';
  }
}

/**
 * `lookup` (by default the system resolver, as sockets use) that fails with
 * RefusedAddressError when the name resolves to any private address. Any, not
 * all: the socket may try each address it is given, and a name that mixes
 * public and private answers is not one to trust with an attempt.
 */
export function guardLookup(lookup: LookupFunction = dnsLookup): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, options, (error, address, family) => {
      if (error) return callback(error, address, family);
      const addresses = typeof address === 'string' ? [address] : address.map((entry) => entry.address);
      const first = addresses.find(isPrivateAddress);
      if (first !== undefined) return callback(new RefusedAddressError(first), address, family);
      callback(null, address, family);
    });
  };
}
