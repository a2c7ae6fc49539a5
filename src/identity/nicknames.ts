import { randomInt } from 'node:crypto';

// Short, friendly, and safe to show anywhere.
const ADJECTIVES = [
  'Amber', 'Bold', 'Brave', 'Bright', 'Calm', 'Clever', 'Cosmic', 'Crimson', 'Curious', 'Dapper',
  'Eager', 'Fancy', 'Fuzzy', 'Gentle', 'Golden', 'Happy', 'Jolly', 'Keen', 'Lucky', 'Mellow',
  'Misty', 'Nimble', 'Noble', 'Plucky', 'Quick', 'Quiet', 'Rapid', 'Rusty', 'Silent', 'Silver',
  'Sly', 'Sunny', 'Swift', 'Tiny', 'Witty', 'Zesty',
];
const NOUNS = [
  'Badger', 'Beaver', 'Comet', 'Cricket', 'Falcon', 'Ferret', 'Fox', 'Gecko', 'Heron', 'Koala',
  'Lemur', 'Lynx', 'Marmot', 'Moose', 'Newt', 'Otter', 'Owl', 'Panda', 'Pebble', 'Penguin',
  'Puffin', 'Quokka', 'Raven', 'Robin', 'Salmon', 'Sparrow', 'Squid', 'Teemo', 'Tiger', 'Toucan',
  'Walrus', 'Wombat', 'Yak', 'Zebra',
];

export function randomNickname(): string {
  return `${ADJECTIVES[randomInt(ADJECTIVES.length)]}${NOUNS[randomInt(NOUNS.length)]}`;
}

/** Four digits, "0000" to "9999". */
export function randomTag(): string {
  return randomInt(10_000).toString().padStart(4, '0');
}
