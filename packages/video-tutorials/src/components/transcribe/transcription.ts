import { defineProjection } from 'message-db-toolkit';

/** What transcribe knows about one transcription, projected from `transcribe-{transcribeId}`. */
export interface Transcription {
  status: 'requested' | 'transcribed' | 'failed';
}

// By type name: an outcome settles the transcription whatever its data.
export const transcriptionProjection = defineProjection<Transcription>(() => ({
  status: 'requested',
}))
  .on('Transcribed', () => ({ status: 'transcribed' }))
  .on('TranscribeFailed', () => ({ status: 'failed' }))
  .build();

/** Transcribed or failed, the transcription is settled: handling its `Transcribe` again changes nothing. */
export const isSettled = (transcription: Transcription) => transcription.status !== 'requested';
