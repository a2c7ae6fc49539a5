import jwt from 'jsonwebtoken';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TokenService } from '../../src/identity/token.js';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256';
const USER = { id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', nickname: 'Teemo', tag: '4821' };

describe('TokenService.verify, checked once per token text', () => {
  afterEach(() => vi.useRealTimers());

  it('accepts a token again from what it checked, and refuses it from its expiry on, as the first check would', () => {
    vi.useFakeTimers({ now: new Date('2026-12-02T12:00:00Z') });
    const tokens = new TokenService(SECRET, 60);
    const { token } = tokens.sign(USER);
    expect(tokens.verify(token)).toMatchObject({ ok: true, claims: { sub: USER.id, nickname: 'Teemo', tag: '4821' } });
    vi.setSystemTime(new Date('2026-12-02T12:01:04Z'));
    expect(tokens.verify(token).ok).toBe(true);
    // 60 s of life and 5 s of clock tolerance: expired from 12:01:05 on.
    vi.setSystemTime(new Date('2026-12-02T12:01:05Z'));
    expect(tokens.verify(token)).toEqual({ ok: false, problem: 'token expired' });
    expect(tokens.verify(token)).toEqual({ ok: false, problem: 'token expired' });
    // The same answer from a service that never saw it.
    expect(new TokenService(SECRET, 60).verify(token)).toEqual({ ok: false, problem: 'token expired' });
  });

  it('keeps refusing a token signed with another secret, however often it comes', () => {
    const tokens = new TokenService(SECRET, 60);
    const forged = jwt.sign({ nickname: 'Teemo', tag: '4821' }, 'another-secret-of-the-same-good-length', { algorithm: 'HS256', subject: USER.id, expiresIn: 60 });
    for (let i = 0; i < 3; i++) expect(tokens.verify(forged)).toEqual({ ok: false, problem: 'invalid token' });
  });
});
