import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, issueToken, sendMessage, type TestUser } from './helpers/chat.js';
import { gqlOk } from './helpers/graphql.js';
import { allMessages } from './helpers/pages.js';
import { ensureWebBuild, launchChromium, person, type Person } from './helpers/browser.js';
import { sendMany } from './helpers/realtime.js';
import { startServer, type TestServer } from './helpers/server.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';
import { until } from './helpers/wait.js';

// The web chat (web/, served at /) and GraphiQL in real Chromium, as people use them,
// with no internet: every request off this machine is aborted, and must not happen.

const ADMIN_TOKEN = 'operators-token-for-the-browser-tests-0123456789';

let server: TestServer;
let browser: Browser;
let origin: string;
let helper: TestUser;
const people: Person[] = [];

beforeAll(async () => {
  ensureWebBuild();
  server = await startServer({ adminToken: ADMIN_TOKEN });
  origin = server.url.replace(/\/graphql$/, '');
  browser = await launchChromium();
  helper = await issueToken(server.url, { nickname: 'Helper' });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});
afterEach(async () => {
  for (const someone of people.splice(0)) {
    expect(someone.blocked, 'requests that left this machine').toEqual([]);
    await someone.context.close();
  }
});

async function newPerson(options?: Parameters<typeof person>[1]): Promise<Person> {
  const someone = await person(browser, options);
  people.push(someone);
  return someone;
}

async function openRoom(page: Page, roomId: string, at = origin): Promise<void> {
  await page.goto(`${at}/#/room/${roomId}`);
  await page.getByRole('textbox', { name: 'Message' }).waitFor();
  await page.locator('.connection.online').waitFor();
}

const handleOf = async (page: Page) => (await page.locator('.own-handle').textContent())!;
const log = (page: Page) => page.getByRole('log', { name: 'Messages' });
/** The seq of every message in the log, top to bottom. */
const seqsIn = (page: Page) => log(page).locator('li.message').evaluateAll((items) => items.map((li) => Number((li as HTMLElement).dataset.seq)));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function send(page: Page, text: string): Promise<void> {
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
}

describe('the web chat', { timeout: 60_000 }, () => {
  it('two people chat: counts, typing, Enter and Shift+Enter, their own messages marked, handles shown', async () => {
    const room = await createRoom(server.url, helper.token, 'Garden');
    const alice = await newPerson();
    const bob = await newPerson();
    await openRoom(alice.page, room.id);
    const aliceHandle = await handleOf(alice.page);
    expect(aliceHandle).toMatch(/^[\w .'-]+#\d{4}$/);
    await alice.page.getByRole('main').getByText('1 online', { exact: true }).waitFor();

    await openRoom(bob.page, room.id);
    const bobHandle = await handleOf(bob.page);
    expect(bobHandle).not.toBe(aliceHandle);
    for (const page of [alice.page, bob.page]) {
      await page.getByRole('main').getByText('2 online', { exact: true }).waitFor();
      const listed = page.getByRole('navigation', { name: 'Rooms' }).getByRole('listitem').filter({ has: page.getByRole('link', { name: 'Garden', exact: true }) });
      await listed.getByText('2 online', { exact: true }).waitFor();
    }
    // Who is here lists both.
    await alice.page.getByRole('region', { name: 'Who is here' }).getByText(bobHandle).waitFor();

    // Alice types: Bob sees it; Enter sends and the typing line clears.
    const box = alice.page.getByRole('textbox', { name: 'Message' });
    await box.click();
    await alice.page.keyboard.type('Hello Bo');
    await bob.page.getByText(`${aliceHandle} is typing…`).waitFor();
    await alice.page.keyboard.type('b');
    await alice.page.keyboard.press('Enter');
    await log(bob.page).getByText('Hello Bob').waitFor();
    await bob.page.getByText(`${aliceHandle} is typing…`).waitFor({ state: 'hidden' });
    expect(await box.inputValue()).toBe('');

    // Shift+Enter is a new line, Enter sends both lines as one message.
    const bobBox = bob.page.getByRole('textbox', { name: 'Message' });
    await bobBox.click();
    await bob.page.keyboard.type('first line');
    await bob.page.keyboard.press('Shift+Enter');
    await bob.page.keyboard.type('second line');
    expect(await bobBox.inputValue()).toBe('first line\nsecond line');
    await bob.page.keyboard.press('Enter');
    const twoLines = log(alice.page).locator('li.message').filter({ hasText: 'second line' });
    await twoLines.waitFor();
    expect(await twoLines.locator('.body').innerText()).toBe('first line\nsecond line');

    // Own messages are marked as such, for each of them.
    await expect.poll(() => log(alice.page).locator('li.message.own').allInnerTexts()).toEqual([expect.stringContaining('Hello Bob')]);
    expect(await log(bob.page).locator('li.message.own .body').allInnerTexts()).toEqual(['first line\nsecond line']);
    expect(await log(bob.page).locator('li.message:not(.own) .sender').first().innerText()).toBe(aliceHandle);

    await send(alice.page, 'The roses are out, come and see');
    await send(bob.page, 'On my way, keep the kettle on');
    await log(alice.page).getByText('keep the kettle on').waitFor();
    if (process.env.SCREENSHOT) {
      mkdirSync('docs', { recursive: true });
      await alice.page.screenshot({ path: 'docs/screenshot-chat.png' });
    }

    // Bob leaves: the count follows.
    await bob.context.close();
    people.splice(people.indexOf(bob), 1);
    await alice.page.getByRole('main').getByText('1 online', { exact: true }).waitFor();
  });

  it('scrolling up loads older pages with no gap and keeps what was on screen in place', async () => {
    const room = await createRoom(server.url, helper.token, 'Archive');
    const total = 170;
    await sendMany(server.url, [helper], room.id, total, { streams: 4, body: (n) => `archived message ${n}` });
    const reader = await newPerson();
    await openRoom(reader.page, room.id);
    await until(async () => (await seqsIn(reader.page)).at(-1) === total, 10_000, 'the newest message');
    expect(await seqsIn(reader.page)).toEqual(range(total - 49, total));

    for (let pages = 0; (await seqsIn(reader.page))[0] !== 1; pages++) {
      expect(pages).toBeLessThan(5);
      const first = (await seqsIn(reader.page))[0]!;
      const anchor = log(reader.page).locator(`li.message[data-seq="${first}"]`);
      // Where it is right after the scroll to the top (before any page can come in: same task).
      const before = await log(reader.page).evaluate((element, seq) => {
        element.scrollTo({ top: 0 });
        return element.querySelector(`li.message[data-seq="${seq}"]`)!.getBoundingClientRect().y;
      }, first);
      await until(async () => (await seqsIn(reader.page))[0]! < first, 10_000, 'an older page');
      // The message that was at the top is still where it was.
      await until(async () => !(await reader.page.getByText('Loading older messages…').isVisible()), 5_000, 'the page to be in');
      expect(Math.abs((await anchor.boundingBox())!.y - before)).toBeLessThan(2);
    }
    expect(await seqsIn(reader.page)).toEqual(range(1, total));
    await log(reader.page).getByText('This is the start of the room.').waitFor();
  });

  it('reloading keeps the handle and the room', async () => {
    const room = await createRoom(server.url, helper.token, 'Reading room');
    const reader = await newPerson();
    await openRoom(reader.page, room.id);
    const handle = await handleOf(reader.page);
    await reader.page.reload();
    await reader.page.locator('.connection.online').waitFor();
    expect(await handleOf(reader.page)).toBe(handle);
    await reader.page.getByRole('heading', { name: 'Reading room' }).waitFor();
  });

  it('a dropped connection shows as offline and recovers without losing a message', async () => {
    const proxy: TcpProxy = await startTcpProxy(server.app.port, '');
    try {
      const room = await createRoom(server.url, helper.token, 'Tunnel');
      const reader = await newPerson();
      await openRoom(reader.page, room.id, proxy.url);
      await sendMany(server.url, [helper], room.id, 3);
      await until(async () => (await seqsIn(reader.page)).length === 3, 5_000, 'three messages');

      proxy.refuse(true);
      proxy.cut();
      await reader.page.locator('.connection').getByText('Offline: reconnecting…').waitFor();
      await sendMany(server.url, [helper], room.id, 5);
      proxy.refuse(false);
      await reader.page.locator('.connection.online').waitFor({ timeout: 20_000 });
      await until(async () => (await seqsIn(reader.page)).length >= 8, 10_000, 'the messages sent while offline');
      expect(await seqsIn(reader.page)).toEqual((await allMessages(server.url, room.id)).map((m) => m.seq));
    } finally {
      await proxy.close();
    }
  });

  it('"Talk to a stranger" pairs two people in a direct room', async () => {
    const alice = await newPerson();
    const bob = await newPerson();
    const lobby = (await gqlOk<{ rooms: { edges: { node: { id: string; title: string } }[] } }>(server.url, '{ rooms(first: 100) { edges { node { id title } } } }')).rooms.edges.find((e) => e.node.title === 'lobby')!.node;
    await openRoom(alice.page, lobby.id);
    await openRoom(bob.page, lobby.id);
    const [aliceHandle, bobHandle] = [await handleOf(alice.page), await handleOf(bob.page)];

    await alice.page.getByRole('button', { name: 'Talk to a stranger' }).click();
    await alice.page.getByText('Looking for someone to talk to…').waitFor();
    await bob.page.getByRole('button', { name: 'Talk to a stranger' }).click();

    await alice.page.getByRole('heading', { name: `Direct with ${bobHandle}` }).waitFor();
    await bob.page.getByRole('heading', { name: `Direct with ${aliceHandle}` }).waitFor();
    expect(alice.page.url()).toBe(bob.page.url());
    await bob.page.locator('.connection.online').waitFor();
    await send(alice.page, 'Hi stranger');
    await log(bob.page).getByText('Hi stranger').waitFor();
    await bob.page.getByRole('navigation', { name: 'Direct messages' }).getByRole('link', { name: aliceHandle }).waitFor();
  });

  it('opens a direct room with someone from who is here; the other sees it as new', async () => {
    const room = await createRoom(server.url, helper.token, 'Porch');
    const alice = await newPerson();
    const bob = await newPerson();
    await openRoom(alice.page, room.id);
    await openRoom(bob.page, room.id);
    const [aliceHandle, bobHandle] = [await handleOf(alice.page), await handleOf(bob.page)];

    await alice.page.getByRole('button', { name: `Message ${bobHandle}` }).click();
    await alice.page.getByRole('heading', { name: `Direct with ${bobHandle}` }).waitFor();
    await alice.page.locator('.connection.online').waitFor();
    await send(alice.page, 'psst, over here');
    const direct = bob.page.getByRole('navigation', { name: 'Direct messages' });
    await direct.getByText('1 new').waitFor();
    await direct.getByRole('link', { name: aliceHandle }).click();
    await log(bob.page).getByText('psst, over here').waitFor();
  });

  it('shows operator notices, slow mode with a countdown, and a ban, keeping what was typed', async () => {
    const room = await createRoom(server.url, helper.token, 'Town hall');
    const alice = await newPerson();
    await openRoom(alice.page, room.id);
    const me = (await alice.page.evaluate(() => JSON.parse(localStorage.getItem('chat-api.session')!))) as TestUser;

    // A notice reaches the sockets subscribed when it is sent, and the page may still be starting its
    // `notices` subscription: an operator who sees no effect sends again, and so does this test.
    const notice = alice.page.getByRole('alert').filter({ hasText: 'Maintenance at noon' });
    for (let attempt = 1; ; attempt++) {
      await gqlOk(server.url, 'mutation($body: String!) { sendNotice(body: $body) { id } }', { body: 'Maintenance at noon' }, ADMIN_TOKEN);
      try {
        await notice.first().waitFor({ timeout: 2_000 });
        break;
      } catch (error) {
        if (attempt === 5) throw error;
      }
    }

    await gqlOk(server.url, 'mutation($r: ID!) { setSlowMode(roomId: $r, seconds: 30) { id } }', { r: room.id }, ADMIN_TOKEN);
    await send(alice.page, 'first');
    await log(alice.page).getByText('first').waitFor();
    await send(alice.page, 'too soon');
    const countdown = alice.page.getByRole('alert').filter({ hasText: /Slow mode: you can send again in \d+ s\./ });
    await countdown.waitFor();
    const text = (await countdown.textContent())!;
    const seconds = Number(/in (\d+) s/.exec(text)![1]);
    expect(seconds, text).toBeGreaterThan(20);
    expect(seconds).toBeLessThanOrEqual(30);
    expect(await alice.page.getByRole('textbox', { name: 'Message' }).inputValue()).toBe('too soon');
    expect(await alice.page.getByRole('button', { name: 'Send' }).isDisabled()).toBe(true);
    await until(async () => Number(/in (\d+) s/.exec((await countdown.textContent()) ?? '')?.[1] ?? seconds) < seconds, 3_000, 'the countdown to tick');

    await gqlOk(server.url, 'mutation($r: ID!) { setSlowMode(roomId: $r, seconds: 0) { id } }', { r: room.id }, ADMIN_TOKEN);
    await gqlOk(server.url, 'mutation($u: ID!) { banUser(userId: $u) }', { u: me.user.id }, ADMIN_TOKEN);
    await alice.page.reload();
    await alice.page.locator('.connection.online').waitFor();
    await send(alice.page, 'let me speak');
    await alice.page.getByRole('alert').filter({ hasText: 'You are banned from sending messages for now. You can still read.' }).waitFor();
    expect(await alice.page.getByRole('textbox', { name: 'Message' }).inputValue()).toBe('let me speak');
    // Still reading.
    const later = await sendMessage(server.url, helper.token, room.id, 'the meeting starts');
    await log(alice.page).getByText(later.body).waitFor();
  });

  it('by keyboard alone: create a room, land in it, write and send', async () => {
    const someone = await newPerson();
    await someone.page.goto(`${origin}/`);
    await someone.page.locator('.connection.online').waitFor();
    const focusedLabel = () => someone.page.evaluate(() => (document.activeElement as unknown as { labels?: ArrayLike<{ textContent: string | null }> } | null)?.labels?.[0]?.textContent ?? null);
    const tabTo = async (label: string) => {
      for (let presses = 0; (await focusedLabel()) !== label; presses++) {
        expect(presses, `Tab presses to reach "${label}"`).toBeLessThan(40);
        await someone.page.keyboard.press('Tab');
      }
    };
    await tabTo('New room');
    await someone.page.keyboard.type('Keyboard club');
    await someone.page.keyboard.press('Enter');
    await someone.page.getByRole('heading', { name: 'Keyboard club' }).waitFor();
    await someone.page.getByRole('navigation', { name: 'Rooms' }).getByRole('link', { name: 'Keyboard club', exact: true }).waitFor();
    await tabTo('Message');
    await someone.page.keyboard.type('no mouse needed');
    await someone.page.keyboard.press('Enter');
    await log(someone.page).getByText('no mouse needed').waitFor();
  });

  it('works at phone width', async () => {
    const room = await createRoom(server.url, helper.token, 'Pocket');
    const someone = await newPerson({ viewport: { width: 390, height: 760 }, isMobile: true, hasTouch: true });
    await openRoom(someone.page, room.id);
    // The room list is behind the menu button; the conversation fills the screen.
    expect(await someone.page.getByRole('navigation', { name: 'Rooms' }).isVisible()).toBe(false);
    const composer = (await someone.page.getByRole('textbox', { name: 'Message' }).boundingBox())!;
    expect(composer.x + composer.width).toBeLessThanOrEqual(390);
    await someone.page.getByRole('button', { name: 'Menu' }).click();
    await someone.page.getByRole('navigation', { name: 'Rooms' }).getByRole('link', { name: 'Pocket' }).waitFor();
    await someone.page.getByRole('button', { name: 'Menu' }).click();

    await someone.page.getByRole('textbox', { name: 'Message' }).tap();
    await someone.page.keyboard.type('typed on a phone');
    await someone.page.getByRole('button', { name: 'Send' }).tap();
    await log(someone.page).getByText('typed on a phone').waitFor();
    const width = await someone.page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(390);
  });
});

describe('GraphiQL', { timeout: 90_000 }, () => {
  async function run(page: Page, query: string, token: string): Promise<void> {
    await page.goto(`${server.url}?query=${encodeURIComponent(query)}`);
    await page.getByRole('button', { name: 'Execute query (Ctrl-Enter)' }).waitFor({ timeout: 30_000 });
    await page.getByText('Headers', { exact: true }).click();
    const headers = page.locator('.graphiql-editor-tool .monaco-editor').last();
    await headers.click();
    // GraphiQL carries the last tab's headers over: empty the editor first.
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Backspace');
    await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${token}` }));
    const expected = JSON.stringify({ Authorization: `Bearer ${token}` });
    // (Monaco renders spaces as no-break spaces.)
    await until(async () => (await headers.textContent())?.replace(/\u00a0/g, ' ').endsWith(expected) ?? false, 10_000, 'the Headers tab to hold the token');
    await page.getByRole('button', { name: 'Execute query (Ctrl-Enter)' }).click();
  }
  const result = (page: Page) => page.locator('.result-window');

  it('renders and runs queries, mutations and subscriptions offline, with the token from its Headers tab', async () => {
    const someone = await newPerson({ viewport: { width: 1300, height: 800 } });
    const user = await issueToken(server.url, { nickname: 'Explorer' });
    const room = await createRoom(server.url, user.token, 'Console');

    await run(someone.page, '{ me { handle } }', user.token);
    await result(someone.page).getByText(`"${user.user.handle}"`).waitFor();

    await run(someone.page, `mutation { sendMessage(input: { roomId: "${room.id}", body: "from GraphiQL" }) { body sender { handle } } }`, user.token);
    await result(someone.page).getByText('"from GraphiQL"').waitFor();
    expect((await allMessages(server.url, room.id)).map((m) => [m.body, m.sender.handle])).toEqual([['from GraphiQL', user.user.handle]]);

    // Subscriptions run over SSE, so the Authorization header reaches them too: a direct room needs it.
    const other = await issueToken(server.url);
    const direct = await gqlOk<{ openDirectRoom: { id: string } }>(server.url, 'mutation($u: ID!) { openDirectRoom(userId: $u) { id } }', { u: other.user.id }, user.token);
    await run(someone.page, `subscription { messageAdded(roomId: "${direct.openDirectRoom.id}") { body } }`, user.token);
    await until(async () => (await participantsOf(direct.openDirectRoom.id, other.token)) === 1, 20_000, 'the GraphiQL subscription to be live').catch(async (error: Error) => {
      throw new Error(`${error.message}; GraphiQL shows: ${await result(someone.page).textContent()}`);
    });
    await sendMessage(server.url, other.token, direct.openDirectRoom.id, 'live into GraphiQL');
    await result(someone.page).getByText('"live into GraphiQL"').waitFor();
  });
});

/** Room.participantCount as a member of the room sees it. */
async function participantsOf(roomId: string, token: string): Promise<number> {
  const data = await gqlOk<{ room: { participantCount: number } | null }>(server.url, 'query($id: ID!) { room(id: $id) { participantCount } }', { id: roomId }, token);
  return data.room?.participantCount ?? -1;
}
