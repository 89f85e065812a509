/**
 * Sealing of cookie payloads with iron-session's `sealData`/`unsealData`
 * (AES-256-CBC + HMAC-SHA-256, "Fe26.2").
 *
 * Key rotation: the first configured secret seals, every secret unseals. Each
 * secret gets a stable numeric key id derived from its SHA-256 digest, so a
 * cookie keeps working when secrets are added in front of or removed behind
 * the one that sealed it.
 *
 * Purposes: every payload is sealed for one purpose (`session` or `login`)
 * with a purpose-specific password and carries the purpose inside, so a login
 * transaction cookie can never be accepted as a session and vice versa.
 */
import { sealData, unsealData } from 'iron-session';

/** What a sealed payload is for; a payload sealed for one purpose never unseals for another. */
export type SealPurpose = 'session' | 'login';

/** Seals and unseals cookie payloads. */
export interface Sealer {
  /** Seals `data` for `purpose`, valid for `ttlSeconds` (> 0). */
  seal(purpose: SealPurpose, data: object, ttlSeconds: number): Promise<string>;
  /** Unseals a payload for `purpose`; `undefined` for anything malformed, forged, expired or sealed for another purpose. */
  unseal<T extends object>(purpose: SealPurpose, sealed: string): Promise<T | undefined>;
  /** Whether a (valid) seal was made with the current sealing key; false means it should be re-sealed (key rotation). */
  usesPrimaryKey(sealed: string): Promise<boolean>;
}

type PasswordMap = Record<number, string>;

interface Keyring {
  sealing: PasswordMap;
  unsealing: PasswordMap;
}

/**
 * Creates a {@link Sealer} over the configured secrets (each >= 32 characters,
 * checked by `parseConfig`). Key ids are derived lazily on first use because
 * Web Crypto digests are asynchronous.
 */
export function createSealer(secrets: readonly string[]): Sealer {
  const keyrings = new Map<SealPurpose, Promise<Keyring>>();
  const keyringFor = (purpose: SealPurpose): Promise<Keyring> => {
    let ring = keyrings.get(purpose);
    if (!ring) {
      ring = buildKeyring(secrets, purpose);
      keyrings.set(purpose, ring);
    }
    return ring;
  };

  const primaryId = keyId(secrets[0] ?? '').then(String);

  return {
    async usesPrimaryKey(sealed) {
      // "Fe26.2*<key id>*…": the key id is the second field of the seal.
      return sealed.split('*', 2)[1] === (await primaryId);
    },
    async seal(purpose, data, ttlSeconds) {
      if (!(ttlSeconds > 0)) throw new RangeError('ttlSeconds must be positive: a ttl of 0 would never expire');
      const ring = await keyringFor(purpose);
      return sealData({ ...data, p: purpose }, { password: ring.sealing, ttl: Math.ceil(ttlSeconds) });
    },
    async unseal<T extends object>(purpose: SealPurpose, sealed: string): Promise<T | undefined> {
      // Only the canonical form "Fe26.2*…~2": iron-session would ignore bytes appended after its version suffix.
      if (sealed.length > 64 * 1024 || !/^Fe26\.2\*[^~]*~2$/.test(sealed)) return undefined;
      const ring = await keyringFor(purpose);
      let data: Record<string, unknown>;
      try {
        // unsealData throws on some malformed inputs instead of returning {}.
        data = await unsealData<Record<string, unknown>>(sealed, { password: ring.unsealing });
      } catch {
        return undefined;
      }
      if (!data || typeof data !== 'object' || data.p !== purpose) return undefined;
      return data as T;
    },
  };
}

async function buildKeyring(secrets: readonly string[], purpose: SealPurpose): Promise<Keyring> {
  const unsealing: PasswordMap = {};
  let sealing: PasswordMap | undefined;
  for (const secret of secrets) {
    const id = await keyId(secret);
    // Domain separation: the same secret yields a different password per purpose.
    const password = `${secret}#hono-bff:${purpose}`;
    unsealing[id] = password;
    sealing ??= { [id]: password };
  }
  if (!sealing) throw new Error('no session secret configured');
  return { sealing, unsealing };
}

/** A stable 32-bit key id for a secret (a fingerprint, not the secret). */
async function keyId(secret: string): Promise<number> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`hono-bff key id:${secret}`));
  return new DataView(digest).getUint32(0) + 1;
}
