import { describe, expect, it } from 'vitest';
import {
  buildCues,
  clockTime,
  CUE_LINE_MAX_CHARACTERS,
  CUE_MAX_LINES,
  CUE_MAX_SECONDS,
  escapeVttText,
  toWebVtt,
  vttTimestamp,
  type CaptionWord,
  type Cue,
} from './captions.js';

/** Words spoken one after the other from `start`, each `duration` long with `gap` between them. */
function spoken(text: string, { start = 0, duration = 0.3, gap = 0.05 } = {}): CaptionWord[] {
  return text.split(' ').map((word, index) => ({
    text: word,
    start: start + index * (duration + gap),
    end: start + index * (duration + gap) + duration,
  }));
}

/** What every list of cues must be, whatever the words were. */
function expectWellFormed(cues: Cue[]) {
  cues.forEach((cue, index) => {
    expect(cue.end, JSON.stringify(cue)).toBeGreaterThan(cue.start);
    expect(cue.end - cue.start).toBeLessThanOrEqual(CUE_MAX_SECONDS + 1e-9);
    expect(cue.lines.length).toBeGreaterThan(0);
    expect(cue.lines.length).toBeLessThanOrEqual(CUE_MAX_LINES);
    for (const line of cue.lines) {
      expect([...line].length).toBeLessThanOrEqual(CUE_LINE_MAX_CHARACTERS);
      expect(line).toBe(line.trim());
      expect(line).not.toBe('');
      expect(line).not.toMatch(/[\p{Cc}\u2028\u2029]/u);
    }
    if (index > 0) expect(cue.start).toBeGreaterThanOrEqual(cues[index - 1]!.end);
  });
}

/** The WebVTT file's cues, checked for its structure: the header, then blocks of a timing line and text lines. */
function parseVtt(vtt: string) {
  expect(vtt.startsWith('WEBVTT\n')).toBe(true);
  expect(vtt.endsWith('\n')).toBe(true);
  const blocks = vtt
    .slice('WEBVTT\n'.length)
    .split('\n\n')
    .map((block) => block.replace(/^\n+|\n+$/g, ''))
    .filter((block) => block !== '');
  return blocks.map((block) => {
    const [timing, ...lines] = block.split('\n');
    const match = /^(\d{2}:\d{2}:\d{2}\.\d{3}) --> (\d{2}:\d{2}:\d{2}\.\d{3})$/.exec(timing!);
    expect(match, `a timing line: ${timing}`).not.toBeNull();
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line).not.toContain('-->');
      expect(line).not.toMatch(/[<>]/);
      expect(line.trim()).not.toBe('');
    }
    return { start: match![1], end: match![2], lines };
  });
}

const textOf = (cues: Cue[]) => cues.flatMap((cue) => cue.lines).join(' ');

describe('buildCues', () => {
  it('makes one cue of a short sentence, timed from its first word to its last', () => {
    const cues = buildCues(spoken('hello world this is a video', { start: 0.33 }));
    expect(cues).toEqual([{ start: 0.33, end: 2.38, lines: ['hello world this is a video'] }]);
  });

  it('groups a long stretch of speech into cues of at most two lines of 42 characters and 7 seconds', () => {
    const text = Array.from(
      { length: 60 },
      (_, index) => ['event', 'sourcing', 'is', 'nice', 'microservices'][index % 5],
    ).join(' ');
    const cues = buildCues(spoken(text));
    expectWellFormed(cues);
    expect(cues.length).toBeGreaterThan(5);
    expect(textOf(cues)).toBe(text);
    // Filled before a new line or cue is started: a second line only when the first is full.
    expect(cues[0]!.lines).toHaveLength(2);
    expect([...cues[0]!.lines[0]!, ' ', ...cues[0]!.lines[1]!.split(' ')[0]!].length).toBeGreaterThan(
      CUE_LINE_MAX_CHARACTERS,
    );
  });

  it('ends a cue at seven seconds, however few the words', () => {
    const slow = buildCues(spoken('one two three four five six seven eight nine ten', { duration: 1, gap: 0.2 }));
    expectWellFormed(slow);
    expect(slow.map((cue) => cue.lines.join(' '))).toEqual(['one two three four five six', 'seven eight nine ten']);
    expect(slow[0]).toMatchObject({ start: 0, end: 7 });
  });

  it('starts a new cue after a pause', () => {
    const cues = buildCues([...spoken('hello world'), ...spoken('good morning', { start: 4 })]);
    expect(cues).toEqual([
      { start: 0, end: 0.65, lines: ['hello world'] },
      { start: 4, end: 4.65, lines: ['good morning'] },
    ]);
  });

  it('makes no cue of no words, nor of words that are only white space or control characters', () => {
    expect(buildCues([])).toEqual([]);
    expect(buildCues([{ text: ' \u0000\n\t ', start: 1, end: 2 }])).toEqual([]);
    expect(toWebVtt(buildCues([]))).toBe('WEBVTT\n');
  });

  it('puts unsorted words in order and never lets cues overlap', () => {
    const words = spoken(
      'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma',
    );
    const shuffled = [...words].reverse();
    expect(buildCues(shuffled)).toEqual(buildCues(words));

    // Overlapping, repeated and zero-length times, as a confused recognizer might give them.
    const overlapping: CaptionWord[] = [
      { text: 'first', start: 0, end: 6.5 },
      { text: 'inside', start: 1, end: 2 },
      { text: 'same', start: 1, end: 2 },
      { text: 'long', start: 5, end: 20 },
      { text: 'instant', start: 12, end: 12 },
      { text: 'backwards', start: 14, end: 13 },
      { text: 'again', start: 14, end: 13 },
      ...spoken('a whole sentence spoken over everything that came before it', { start: 3 }),
    ];
    const cues = buildCues(overlapping);
    expectWellFormed(cues);
    expect(textOf(cues).split(' ').sort()).toEqual(overlapping.map((word) => word.text).sort());
    expect(parseVtt(toWebVtt(cues))).toHaveLength(cues.length);
  });

  it('leaves out words whose times are not numbers, and starts no cue before 0', () => {
    const cues = buildCues([
      { text: 'never', start: Number.NaN, end: 1 },
      { text: 'ever', start: 0, end: Number.POSITIVE_INFINITY },
      { text: 'early', start: -2, end: -1 },
      { text: 'late', start: 0.5, end: 0.9 },
    ]);
    expect(cues).toEqual([{ start: 0, end: 0.9, lines: ['early late'] }]);
  });

  it('cuts a word longer than a line into pieces that fit, sharing its time', () => {
    const long = 'x'.repeat(100);
    const cues = buildCues([
      { text: 'before', start: 0, end: 0.5 },
      { text: long, start: 0.6, end: 3.6 },
      { text: 'after', start: 3.7, end: 4 },
    ]);
    expectWellFormed(cues);
    expect(cues.flatMap((cue) => cue.lines).join('|')).toBe(
      `before|${'x'.repeat(42)}|${'x'.repeat(42)}|${'x'.repeat(16)} after`,
    );
    // Code points, not UTF-16 units: an emoji is one character and is never cut in two.
    const emoji = buildCues([{ text: '😀'.repeat(50), start: 0, end: 1 }]);
    expectWellFormed(emoji);
    expect(emoji.flatMap((cue) => cue.lines)).toEqual(['😀'.repeat(42), '😀'.repeat(8)]);
    // A word of 100,000 characters still makes bounded cues.
    const huge = buildCues([{ text: 'y'.repeat(100_000), start: 0, end: 3600 }]);
    expectWellFormed(huge);
    expect(huge.length).toBe(Math.ceil(100_000 / (2 * 42)));
  });
});

describe('the WebVTT file', () => {
  it('has the header and one block per cue, timed to the millisecond', () => {
    const vtt = toWebVtt([
      { start: 0.33, end: 2.08, lines: ['hello world'] },
      { start: 3725.5, end: 3727, lines: ['an hour later', 'on two lines'] },
    ]);
    expect(vtt).toBe(
      'WEBVTT\n\n00:00:00.330 --> 00:00:02.080\nhello world\n\n01:02:05.500 --> 01:02:07.000\nan hour later\non two lines\n',
    );
  });

  it('escapes hostile text: no tag, no entity, no cue timing and no blank line can come from the words', () => {
    const hostile = [
      '<script>alert(1)</script>',
      '<c.evil>styled</c>',
      'fish & chips &amp;',
      'a --> b',
      '\n\n00:00:00.000 --> 00:09:00.000\nINJECTED',
      'NOTE\r\n\r\nWEBVTT',
      'nul\u0000bell\u0007esc\u001b[31m',
      'line\u2028separator\u2029para',
      'rtl\u202Eoverride',
    ];
    const words = hostile.map((text, index) => ({ text, start: index * 10, end: index * 10 + 1 }));
    const cues = buildCues(words);
    expectWellFormed(cues);
    const vtt = toWebVtt(cues);
    const parsed = parseVtt(vtt);
    expect(parsed).toHaveLength(hostile.length);
    expect(parsed.map((cue) => cue.start)).toEqual(hostile.map((_, index) => vttTimestamp(index * 10)));
    // No control character but the line feeds of the format itself.
    expect(vtt.replaceAll('\n', '')).not.toMatch(/[\p{Cc}\u2028\u2029\u202e]/u);
    expect(vtt).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(vtt).toContain('&lt;c.evil&gt;styled&lt;/c&gt;');
    expect(vtt).toContain('fish &amp; chips &amp;amp;');
    expect(vtt).toContain('a --&gt; b');
    // The would-be timing line is text of the cue before, on its line: its arrow escaped.
    expect(vtt).toContain('\n00:00:00.000 --&gt; 00:09:00.000 INJECTED\n');
    expect(vtt.split('\n').filter((line) => line.includes('-->'))).toHaveLength(hostile.length);
  });

  it('cleans cues as it writes them, whatever View Data held', () => {
    const vtt = toWebVtt([
      { start: 0, end: 1, lines: ['one\n\n00:00:05.000 --> 00:00:06.000', '  '] },
      { start: 1, end: 2, lines: ['\u0000', ''] },
      { start: 2, end: 3, lines: ['three'] },
    ]);
    expect(parseVtt(vtt)).toEqual([
      { start: '00:00:00.000', end: '00:00:01.000', lines: ['one 00:00:05.000 --&gt; 00:00:06.000'] },
      { start: '00:00:02.000', end: '00:00:03.000', lines: ['three'] },
    ]);
  });

  it('escapes only what WebVTT needs', () => {
    expect(escapeVttText(`it's "quoted" & <b>`)).toBe(`it's "quoted" &amp; &lt;b&gt;`);
  });
});

describe('times', () => {
  it('as WebVTT timestamps', () => {
    expect(vttTimestamp(0)).toBe('00:00:00.000');
    expect(vttTimestamp(12.3456)).toBe('00:00:12.346');
    expect(vttTimestamp(59.9996)).toBe('00:01:00.000');
    expect(vttTimestamp(36_000.5)).toBe('10:00:00.500');
    expect(vttTimestamp(-1)).toBe('00:00:00.000');
  });

  it('for people', () => {
    expect(clockTime(0)).toBe('0:00');
    expect(clockTime(7.9)).toBe('0:07');
    expect(clockTime(750)).toBe('12:30');
    expect(clockTime(3723)).toBe('1:02:03');
  });
});
