/**
 * Which addresses herald refuses to deliver to unless a destination sets
 * `allowPrivateNetwork: true` (product spec, "Config"; issue 4, "Outbound
 * safety"): anything that is not global unicast, so a destination URL cannot
 * be turned on the cloud metadata service (169.254.169.254), an admin port on
 * localhost, the office LAN, or a broadcast or multicast group.
 *
 * The classification is ipaddr.js's table of the IANA special-purpose
 * registries (private, loopback, link-local, CGNAT, benchmarking, reserved,
 * multicast, broadcast, site-local, discard ...): an address passes only when
 * ipaddr.js calls it plain `unicast`, and an IPv6 one only inside 2000::/3,
 * the block IANA allocates global unicast from.
 *
 * IPv6 can carry an IPv4 address inside it, and the packet then reaches that
 * IPv4 address (a dual-stack socket, a NAT64 translator, a 6to4 or Teredo
 * relay): such an address is judged by the IPv4 address it embeds, so
 * `::ffff:127.0.0.1`, `::ffff:0:7f00:1`, `::7f00:1`, `64:ff9b::a9fe:a9fe` and
 * `2002:a9fe:a9fe::1` are all 169.254/127 in disguise. NAT64's local-use
 * prefix 64:ff9b:1::/48 (RFC 8215) is refused whole: the operator picks where
 * the IPv4 address sits in it, so there is nothing reliable to extract.
 *
 * The check belongs on the address a connection is actually made to, after
 * DNS: `guardLookup` wraps the resolver a socket calls at connect time, so a
 * name that resolves (or is re-pointed, DNS rebinding) to a private address is
 * refused like the address itself.
 */
import { lookup as dnsLookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Where global unicast IPv6 addresses are allocated from (IANA IPv6 address space registry). */
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3') as [ipaddr.IPv6, number];
/** NAT64's well-known prefix (RFC 6052 §2.1): the IPv4 address is the last 32 bits. */
const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96') as [ipaddr.IPv6, number];
/** IPv4-compatible addresses (RFC 4291 §2.5.5.1, deprecated): `::a.b.c.d`. */
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96') as [ipaddr.IPv6, number];

/**
 * Whether `address` (an IPv4 or IPv6 address, without brackets) is anything
 * but global unicast, or embeds an IPv4 address that is. Anything that is not
 * an IP address is refused too: the guard has nothing it could check. (Node's
 * `isIP` decides what an address is: it takes only the usual spellings, not
 * the `0x7f.1` or `2130706433` forms ipaddr.js would also parse.)
 */
export function isPrivateAddress(address: string): boolean {
  if (isIP(address) === 0) return true;
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv4') return !isGlobalV4(parsed as ipaddr.IPv4);
  const v6 = parsed as ipaddr.IPv6;
  const embedded = embeddedIPv4(v6);
  if (embedded === 'refuse') return true;
  if (embedded !== undefined) return !embedded.every(isGlobalV4);
  return !(v6.range() === 'unicast' && v6.match(GLOBAL_UNICAST_V6));
}

function isGlobalV4(address: ipaddr.IPv4): boolean {
  return address.range() === 'unicast';
}

/**
 * The IPv4 addresses an IPv6 address reaches through (all must be global), or
 * undefined when it embeds none, or 'refuse' when it may embed one we cannot
 * locate.
 */
function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4[] | 'refuse' | undefined {
  const words = address.parts;
  const v4 = (high: number, low: number) => new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
  switch (address.range()) {
    case 'ipv4Mapped': // ::ffff:a.b.c.d (RFC 4291 §2.5.5.2)
    case 'rfc6145': // ::ffff:0:a.b.c.d, IPv4-translated (RFC 6145 / 7915)
      return [v4(words[6]!, words[7]!)];
    case 'rfc6052': // NAT64 (RFC 6052, RFC 8215)
      return address.match(NAT64_WELL_KNOWN) ? [v4(words[6]!, words[7]!)] : 'refuse';
    case '6to4': // 2002:AABB:CCDD::/48 (RFC 3056 §2)
      return [v4(words[1]!, words[2]!)];
    case 'teredo': // 2001:0:SSSS:SSSS:flags:port:CCCC:CCCC, client bits inverted (RFC 4380 §4)
      return [v4(words[2]!, words[3]!), v4(~words[6]! & 0xffff, ~words[7]! & 0xffff)];
    default:
      // :: and ::1 are classified as themselves; the rest of ::/96 is IPv4-compatible.
      if (address.match(IPV4_COMPATIBLE) && !['unspecified', 'loopback'].includes(address.range())) {
        return [v4(words[6]!, words[7]!)];
      }
      return undefined;
  }
}

/** A connection refused by the guard; `address` is the resolved address, never the URL. */
export class RefusedAddressError extends Error {
  constructor(readonly address: string) {
    super(
      `refused to connect to a private or loopback address (${address}): ` + 'set allowPrivateNetwork: true on this destination if it is meant to be internal',
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
