import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';

/** What a token says about its holder. The server trusts it only after verify(). */
export interface TokenClaims {
  sub: string;
  nickname: string;
  tag: string;
  /** Seconds since the epoch. */
  exp: number;
}

/** Why a token was refused, in the words clients see (HTTP errors and WebSocket close reasons). */
export type TokenProblem = 'missing token' | 'invalid token' | 'token expired';

export type TokenCheck = { ok: true; claims: TokenClaims } | { ok: false; problem: TokenProblem };

const ALGORITHM = 'HS256';
/** Clocks of several instances drift a little; more than this is a wrong clock, not drift. */
const CLOCK_TOLERANCE_SECONDS = 5;
/** An expired token still brings its user back through issueToken(previousToken) this long. */
export const REFRESH_WINDOW_SECONDS = 30 * 24 * 3600;

export class TokenService {
  /**
   * A KeyObject, not the string: given a string, jsonwebtoken first tries to read
   * it as a public key (createPublicKey, which throws) on every verify, about
   * 400 µs each time; with a secret KeyObject a verify costs about 10 µs.
   */
  private readonly secret: KeyObject;
  /**
   * Tokens whose signature and claims were checked, by their exact text: the
   * same text has the same signature, and checking it (base64, JSON, HMAC,
   * claims) is some 40 µs of every authenticated HTTP request. A hit checks
   * only the expiry, as jsonwebtoken does. Only tokens we signed get in, so
   * each entry is a few hundred bytes; bounded, cleared when full.
   */
  private readonly verified = new Map<string, TokenClaims>();

  constructor(
    secret: string,
    private readonly ttlSeconds: number,
  ) {
    this.secret = createSecretKey(Buffer.from(secret));
  }

  sign(user: { id: string; nickname: string; tag: string }): { token: string; expiresAt: Date } {
    const nowSeconds = Math.floor(Date.now() / 1000);
    const exp = nowSeconds + this.ttlSeconds;
    const token = jwt.sign({ nickname: user.nickname, tag: user.tag, iat: nowSeconds, exp }, this.secret, {
      algorithm: ALGORITHM,
      subject: user.id,
    });
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /** A token fit to act with now: signed by us with HS256, carrying exp, not expired. */
  verify(token: string | null | undefined): TokenCheck {
    if (!token) return { ok: false, problem: 'missing token' };
    const known = this.verified.get(token);
    if (known) {
      if (!isExpired(known)) return { ok: true, claims: known };
      this.verified.delete(token);
      return { ok: false, problem: 'token expired' };
    }
    const result = this.check(token, false);
    if (result.ok) {
      if (this.verified.size >= VERIFIED_KEPT) this.verified.clear();
      this.verified.set(token, result.claims);
    }
    return result;
  }

  /** A token signed by us that expired no longer ago than the refresh window. */
  verifyForRefresh(token: string): TokenClaims | null {
    const result = this.check(token, true);
    if (!result.ok) return null;
    const expiredFor = Date.now() / 1000 - result.claims.exp;
    return expiredFor <= REFRESH_WINDOW_SECONDS ? result.claims : null;
  }

  private check(token: string, ignoreExpiration: boolean): TokenCheck {
    try {
      // Pinning the algorithm refuses alg "none" and any asymmetric-key confusion.
      const payload = jwt.verify(token, this.secret, {
        algorithms: [ALGORITHM],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        ignoreExpiration,
      });
      return isClaims(payload) ? { ok: true, claims: payload } : { ok: false, problem: 'invalid token' };
    } catch (error) {
      return { ok: false, problem: error instanceof jwt.TokenExpiredError ? 'token expired' : 'invalid token' };
    }
  }
}

/** Verified tokens kept (verify()); a few MB at most. */
const VERIFIED_KEPT = 10_000;

/** jsonwebtoken's rule: expired from `exp` plus the tolerance on, in whole seconds. */
function isExpired(claims: TokenClaims): boolean {
  return Math.floor(Date.now() / 1000) >= claims.exp + CLOCK_TOLERANCE_SECONDS;
}

function isClaims(payload: unknown): payload is TokenClaims {
  if (typeof payload !== 'object' || payload === null) return false;
  const p = payload as Record<string, unknown>;
  return typeof p.sub === 'string' && typeof p.nickname === 'string' && typeof p.tag === 'string' && typeof p.exp === 'number';
}

/** "Bearer <jwt>" → "<jwt>"; anything else → null. */
export function bearerToken(header: string | null | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}
