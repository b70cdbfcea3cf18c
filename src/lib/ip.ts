import { SocketAddress, isIP } from "node:net";

/** Longer than any address with a port ("[ffff:…:ffff%zone]:65535"); anything longer is not one. */
const MAX_ADDRESS_LENGTH = 64;

/**
 * An IP address as a canonical string ("2001:db8::1", "203.0.113.5"), or null when `value` is not one.
 * Accepts what proxies put in X-Forwarded-For: a bare address, IPv4 with a port ("203.0.113.5:1234"),
 * IPv6 in brackets with or without a port ("[2001:db8::1]:443"). IPv4-mapped IPv6 ("::ffff:127.0.0.1")
 * becomes the IPv4 address: it is the same client. A zone ("%eth0") is dropped.
 */
export function parseIpAddress(value: string | null | undefined): string | null {
  if (typeof value !== "string") return null;
  let address = value.trim();
  if (address.length === 0 || address.length > MAX_ADDRESS_LENGTH) return null;
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(address);
  if (bracketed) {
    address = bracketed[1]!;
    if (isIP(address) !== 6) return null;
  } else {
    const withPort = /^([0-9.]+):(\d{1,5})$/.exec(address);
    if (withPort) address = withPort[1]!;
  }
  const family = isIP(address);
  if (family === 4) return address;
  if (family !== 6) return null;
  const canonical = new SocketAddress({ address: address.replace(/%.*$/, ""), family: "ipv6" }).address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(canonical);
  return mapped ? mapped[1]! : canonical;
}

/** The eight 16-bit groups of a valid IPv6 address (an embedded IPv4 tail counts as two groups). */
function ipv6Groups(address: string): number[] {
  let text = address.replace(/%.*$/, "");
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split("::") as [string, string | undefined];
  const parse = (part: string | undefined) => (part ? part.split(":").map((g) => parseInt(g, 16)) : []);
  const front = parse(head);
  const back = parse(tail);
  return tail === undefined ? front : [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
}

/**
 * Who a client is for rate limiting: an IPv4 address as is, an IPv6 address as its /64
 * ("2001:db8:1:2::/64"). One end site gets a /64, and its hosts pick any address inside it at will
 * (privacy addresses), so per-address counting of IPv6 would give an attacker 2^64 counters.
 */
export function rateLimitAddress(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  return `${ipv6Groups(ip)
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(":")}::/64`;
}
