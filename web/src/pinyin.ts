// Pinyin initials of Chinese names without a dictionary: the browser's Chinese collation
// (ICU, pinyin order) places each character between the first characters of consecutive
// initials, so a binary search over 23 boundary characters gives its initial. Good for the
// common characters place names use; anything else keeps itself.

const BOUNDARIES = '阿八嚓哒妸发旮哈讥咔垃痳拏噢妑七呥仨它穵夕丫帀';
const LETTERS = 'abcdefghjklmnopqrstwxyz';
const collator = new Intl.Collator('zh-Hans-CN-u-co-pinyin');

function initial(ch: string): string {
  if (/[a-z0-9]/i.test(ch)) return ch.toLowerCase();
  if (!/\p{Script=Han}/u.test(ch)) return '';
  let lo = 0;
  let hi = BOUNDARIES.length - 1;
  if (collator.compare(ch, BOUNDARIES[0]) < 0) return '';
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (collator.compare(ch, BOUNDARIES[mid]) >= 0) lo = mid;
    else hi = mid - 1;
  }
  return LETTERS[lo];
}

/** `马王坪正街一社区` → `mwpzjysq`. */
export function initials(name: string): string {
  return Array.from(name, initial).join('');
}
