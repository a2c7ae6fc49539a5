import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken, lobbyId } from './helpers/chat.js';
import { errorCode, gql } from './helpers/graphql.js';
import { startServer, TEST_SECRET, type TestServer } from './helpers/server.js';

const ME = '{ me { id nickname tag handle } }';

describe('anonymous identity', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());

  it('gives a new user a random nickname and a four-digit tag', async () => {
    const { token, user, expiresAt } = await issueToken(server.url);
    expect(user.nickname).toMatch(/^[A-Za-z]+$/);
    expect(user.tag).toMatch(/^\d{4}$/);
    expect(user.handle).toBe(`${user.nickname}#${user.tag}`);
    expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(3500_000);
    expect((await gql(server.url, ME, {}, token)).data.me).toEqual(user);
  });

  it('keeps a chosen nickname and finds it a free tag', async () => {
    const a = await issueToken(server.url, { nickname: '  Teemo ' });
    const b = await issueToken(server.url, { nickname: 'Teemo' });
    expect(a.user.nickname).toBe('Teemo');
    expect(b.user.nickname).toBe('Teemo');
    expect(a.user.handle).not.toBe(b.user.handle);
  });

  it('refuses nicknames it cannot show', async () => {
    for (const nickname of ['', ' ', 'x', 'a'.repeat(25), 'Bad#Name', 'tab\there', 'bell\u0007']) {
      const result = await gql(server.url, 'mutation($n: String) { issueToken(nickname: $n) { token } }', { n: nickname });
      expect(errorCode(result), JSON.stringify(nickname)).toBe('BAD_USER_INPUT');
    }
  });

  it('gives the same user back for a previous token, even an expired one', async () => {
    const first = await issueToken(server.url, { nickname: 'Returning' });
    const again = await issueToken(server.url, { previousToken: first.token });
    expect(again.user).toEqual(first.user);

    const expired = jwt.sign({ nickname: first.user.nickname, tag: first.user.tag, exp: Math.floor(Date.now() / 1000) - 3 * 24 * 3600 }, TEST_SECRET, {
      subject: first.user.id,
    });
    expect((await gql(server.url, ME, {}, expired)).data.me).toBeNull();
    expect((await issueToken(server.url, { previousToken: expired })).user).toEqual(first.user);
  });

  it('gives a fresh user, never the claimed one, for tokens it did not sign or that expired long ago', async () => {
    const victim = await issueToken(server.url);
    const claims = { nickname: victim.user.nickname, tag: victim.user.tag };
    const forged = jwt.sign({ ...claims, exp: Math.floor(Date.now() / 1000) + 3600 }, 'another-secret-another-secret-another-secret', { subject: victim.user.id });
    const ancient = jwt.sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 31 * 24 * 3600 }, TEST_SECRET, { subject: victim.user.id });
    const none = jwt.sign({ ...claims, exp: Math.floor(Date.now() / 1000) + 3600 }, '', { subject: victim.user.id, algorithm: 'none' });
    for (const previousToken of [forged, ancient, none, 'not a token']) {
      const result = await issueToken(server.url, { previousToken });
      expect(result.user.id).not.toBe(victim.user.id);
    }
  });

  it('answers me with null without a valid token', async () => {
    const victim = await issueToken(server.url);
    const noExp = jwt.sign({ nickname: 'X', tag: '0001' }, TEST_SECRET, { subject: victim.user.id });
    const none = jwt.sign({ nickname: 'X', tag: '0001', exp: Math.floor(Date.now() / 1000) + 60 }, '', { subject: victim.user.id, algorithm: 'none' });
    for (const token of [undefined, 'garbage', noExp, none]) {
      const result = await gql(server.url, ME, {}, token);
      expect(result.errors).toBeUndefined();
      expect(result.data.me).toBeNull();
    }
    expect(await lobbyId(server.url)).toBeTruthy();
  });
});
