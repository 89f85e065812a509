/**
 * Which address is the client's. Without trusted proxies it is what the
 * runtime saw (the socket on Node, CF-Connecting-IP on Workers); behind N
 * trusted reverse proxies it is the N-th `X-Forwarded-For` entry from the
 * right: the address the outermost trusted proxy saw. Entries further left
 * are whatever the client wrote, so they are never used.
 */

/** Whether a string is shaped like an IPv4 or IPv6 address (digits, hex, dots and colons only). */
export function isIpAddressLike(value: string): boolean {
  return /^[0-9A-Fa-f:.]{2,45}$/.test(value) && /[.:]/.test(value);
}

/**
 * The client address behind `trustedHops` reverse proxies, from the
 * `X-Forwarded-For` value; undefined when the header has fewer entries or the
 * chosen entry is not an address (then the runtime's own address applies).
 *
 * @example
 * forwardedClientAddress('203.0.113.9, 198.51.100.7', 1) // '198.51.100.7'
 */
export function forwardedClientAddress(forwardedFor: string | undefined, trustedHops: number): string | undefined {
  if (!forwardedFor || trustedHops < 1) return undefined;
  const entries = forwardedFor.split(',').map((entry) => entry.trim());
  const chosen = entries[entries.length - trustedHops];
  return chosen !== undefined && isIpAddressLike(chosen) ? chosen : undefined;
}
