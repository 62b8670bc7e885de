import type { Projection } from 'message-db-toolkit';

/** What transcribe knows about one transcription, projected from `transcribe-{transcribeId}`. */
export interface Transcription {
  status: 'requested' | 'transcribed' | 'failed';
}

export const transcriptionProjection: Projection<Transcription> = {
  $init: () => ({ status: 'requested' }),
  Transcribed: () => ({ status: 'transcribed' }),
  TranscribeFailed: () => ({ status: 'failed' }),
};

/** Transcribed or failed, the transcription is settled: handling its `Transcribe` again changes nothing. */
export const isSettled = (transcription: Transcription) => transcription.status !== 'requested';
