/**
 * Captions from a transcription's timed words: the words grouped into cues (pure, `buildCues`), and the cues
 * written as a WebVTT file (`toWebVtt`). The catalogue aggregator keeps the cues in View Data; the watch page
 * serves them as its `<track>` and lists them as its timestamped transcript.
 */
import { z } from 'zod';

/** A cue shows for at most this long. */
export const CUE_MAX_SECONDS = 7;
/** A line of a cue holds at most this many characters (Unicode code points)… */
export const CUE_LINE_MAX_CHARACTERS = 42;
/** …and a cue at most this many lines. */
export const CUE_MAX_LINES = 2;
/** A pause this long between two words ends a cue: the next words are another sentence. */
export const CUE_PAUSE_SECONDS = 1.5;
/** The shortest cue, so that words recorded with no duration still show. */
export const CUE_MIN_SECONDS = 0.1;

/** A word heard and when, seconds from the start of the video. */
export interface CaptionWord {
  text: string;
  start: number;
  end: number;
}

/** What shows from `start` to `end` (seconds): one or two lines of words, as text (not escaped). */
export interface Cue {
  start: number;
  end: number;
  lines: string[];
}

/** Cues as View Data keeps them (JSON): read back through this, so a row that is not cues shows no captions. */
export const Cues = z.array(
  z.object({ start: z.number().nonnegative(), end: z.number().nonnegative(), lines: z.array(z.string()) }),
);

/**
 * The words as captions: in order of their start, grouped into cues of at most `CUE_MAX_SECONDS`, at most
 * `CUE_MAX_LINES` lines of at most `CUE_LINE_MAX_CHARACTERS`; a pause of `CUE_PAUSE_SECONDS` starts a new cue.
 * Cues never overlap: each starts at or after the end of the one before. Whatever the words hold: control
 * characters and line breaks are taken out, a word longer than a line is cut into pieces that each fit one (its
 * time shared between them), words without text or with times that are not numbers are left out, an end before
 * its start is taken as the start. No words, no cues.
 */
export function buildCues(words: readonly CaptionWord[]): Cue[] {
  const pieces = words
    .flatMap(piecesOf)
    .map((piece, index) => ({ ...piece, index }))
    .sort((a, b) => a.start - b.start || a.end - b.end || a.index - b.index);

  const groups: CaptionWord[][] = [];
  let group: CaptionWord[] = [];
  let groupStart = 0;
  let groupEnd = 0;
  for (const piece of pieces) {
    const fits =
      group.length > 0 &&
      piece.start - groupEnd < CUE_PAUSE_SECONDS &&
      Math.max(groupEnd, piece.end) - groupStart <= CUE_MAX_SECONDS &&
      linesOf([...group, piece]).length <= CUE_MAX_LINES;
    if (!fits) {
      if (group.length > 0) groups.push(group);
      group = [];
      groupStart = piece.start;
      groupEnd = piece.end;
    }
    group.push(piece);
    groupEnd = Math.max(groupEnd, piece.end);
  }
  if (group.length > 0) groups.push(group);

  const cues: Cue[] = [];
  let previousEnd = 0;
  for (const each of groups) {
    const start = milliseconds(Math.max(each[0]!.start, previousEnd));
    const wordsEnd = Math.max(...each.map((piece) => piece.end));
    const end = milliseconds(Math.min(Math.max(wordsEnd, start + CUE_MIN_SECONDS), start + CUE_MAX_SECONDS));
    cues.push({ start, end, lines: linesOf(each) });
    previousEnd = end;
  }
  return cues;
}

/**
 * The word as pieces that each fit a line: its text cleaned, split at white space and cut to the line's length,
 * the word's time shared between the pieces by their lengths.
 */
function piecesOf(word: CaptionWord): CaptionWord[] {
  if (!Number.isFinite(word.start) || !Number.isFinite(word.end)) return [];
  const start = Math.max(0, word.start);
  const end = Math.max(start, word.end);
  const parts = cleanText(word.text)
    .split(' ')
    .filter((part) => part !== '')
    .flatMap((part) => chunks([...part], CUE_LINE_MAX_CHARACTERS));
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  let done = 0;
  return parts.map((part) => {
    const piece = {
      text: part.join(''),
      start: start + ((end - start) * done) / total,
      end: start + ((end - start) * (done + part.length)) / total,
    };
    done += part.length;
    return piece;
  });
}

function chunks<T>(items: T[], size: number): T[][] {
  const result: T[][] = [];
  for (let index = 0; index < items.length; index += size) result.push(items.slice(index, index + size));
  return result;
}

/** The pieces laid out in lines of at most `CUE_LINE_MAX_CHARACTERS`, filling each line before the next. */
function linesOf(pieces: readonly CaptionWord[]): string[] {
  const lines: string[] = [];
  let line = '';
  for (const { text } of pieces) {
    if (line === '') line = text;
    else if ([...line].length + 1 + [...text].length <= CUE_LINE_MAX_CHARACTERS) line = `${line} ${text}`;
    else {
      lines.push(line);
      line = text;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/**
 * Text that can stand on a cue's line: no control characters (C0, C1: NUL, CR, LF, ESC…), no line or paragraph
 * separators, no bidirectional overrides or isolates (they would reorder what follows), no lone surrogates; white
 * space runs as one space.
 */
export function cleanText(text: string): string {
  return text
    .replace(/[\p{Cc}\p{Cs}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

const milliseconds = (seconds: number) => Math.round(seconds * 1000) / 1000;

/** `12.5` → `00:00:12.500`, WebVTT's timestamp. */
export function vttTimestamp(seconds: number): string {
  const total = Math.round(Math.max(0, seconds) * 1000);
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor(total / 60_000) % 60;
  const secs = Math.floor(total / 1000) % 60;
  const ms = total % 1000;
  return `${pad(hours, 2)}:${pad(minutes, 2)}:${pad(secs, 2)}.${pad(ms, 3)}`;
}

const pad = (value: number, digits: number) => String(value).padStart(digits, '0');

const VTT_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/**
 * A cue's text as WebVTT takes it: cleaned (a line break would end the cue, a blank line the cue block), then
 * `&`, `<` and `>` escaped — so no tag, no entity and no `-->` can come from the words.
 */
export function escapeVttText(text: string): string {
  return cleanText(text).replace(/[&<>]/g, (char) => VTT_ESCAPES[char] ?? char);
}

/** The cues as a WebVTT file. Lines with nothing left once cleaned are left out, and cues with no line left. */
export function toWebVtt(cues: readonly Cue[]): string {
  const blocks = cues.flatMap((cue) => {
    const lines = cue.lines.map(escapeVttText).filter((line) => line !== '');
    if (lines.length === 0) return [];
    return [`${vttTimestamp(cue.start)} --> ${vttTimestamp(cue.end)}\n${lines.join('\n')}\n`];
  });
  return ['WEBVTT\n', ...blocks].join('\n');
}

/** A cue's time for people: `0:07`, `12:30`, `1:02:03`. */
export function clockTime(seconds: number): string {
  const total = Math.floor(Math.max(0, seconds));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor(total / 60) % 60;
  const secs = pad(total % 60, 2);
  return hours > 0 ? `${hours}:${pad(minutes, 2)}:${secs}` : `${minutes}:${secs}`;
}
