/**
 * The words of a text as the blocklist compares them: compatibility-decomposed
 * (NFKD: "ﬁ" is "fi", "①" is "1"), combining marks stripped ("é" is "e"),
 * lowercased; a word is a run of Unicode letters and digits, so anything else
 * (spaces, punctuation, symbols) separates words.
 */
export function wordsOf(text: string): string[] {
  // Lowercasing can itself produce combining marks ("İ" becomes "i" + U+0307): strip after it too.
  const folded = text.normalize('NFKD').toLowerCase().normalize('NFKD').replace(/\p{M}+/gu, '');
  return folded.match(/[\p{L}\p{N}]+/gu) ?? [];
}

/**
 * Words and phrases no message may contain (BLOCKLIST_FILE), matched case- and
 * accent-insensitively on whole words: "darn" blocks "Darn!" and "DÁRN it",
 * not "darning"; the phrase "go away" blocks "Go, away!" but not "go far away".
 * A check walks the message's words once, comparing only the phrases that
 * start with each word, so a long list costs no more per message than a short one.
 */
export class Blocklist {
  /** Each phrase's words, filed under its first word. */
  private readonly byFirstWord = new Map<string, string[][]>();

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const words = wordsOf(entry);
      if (words.length === 0) continue;
      const list = this.byFirstWord.get(words[0]!);
      if (list) list.push(words);
      else this.byFirstWord.set(words[0]!, [words]);
    }
  }

  get empty(): boolean {
    return this.byFirstWord.size === 0;
  }

  /** Whether the text contains a blocked word or phrase. */
  blocks(text: string): boolean {
    if (this.empty) return false;
    const words = wordsOf(text);
    for (let start = 0; start < words.length; start++) {
      const phrases = this.byFirstWord.get(words[start]!);
      if (phrases?.some((phrase) => phrase.every((word, offset) => words[start + offset] === word))) return true;
    }
    return false;
  }
}
