/**
 * Recognizes a video container from its first bytes — never from the name or
 * the Content-Type the browser claims. Returns the extension to store it under.
 */
export function sniffVideoContainer(head: Buffer): string | null {
  const ascii = (start: number, end: number) => head.subarray(start, end).toString('latin1');
  if (head.length >= 12 && ['ftyp', 'moov', 'mdat', 'wide', 'free'].includes(ascii(4, 8)))
    return ascii(8, 10) === 'qt' ? 'mov' : 'mp4';
  if (head.length >= 4 && head.readUInt32BE(0) === 0x1a45dfa3) return 'mkv'; // Matroska / WebM (EBML)
  if (head.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'AVI ') return 'avi';
  if (head.length >= 4 && ascii(0, 4) === 'OggS') return 'ogv';
  if (head.length >= 3 && ascii(0, 3) === 'FLV') return 'flv';
  if (head.length >= 4 && head.readUInt32BE(0) === 0x000001ba) return 'mpg'; // MPEG program stream
  if (head.length >= 189 && head[0] === 0x47 && head[188] === 0x47) return 'ts'; // MPEG transport stream
  return null;
}
