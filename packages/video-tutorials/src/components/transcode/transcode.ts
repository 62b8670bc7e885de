import { defineProjection } from 'message-db-toolkit';

/** What the transcode component knows about one transcode, projected from `transcode-{transcodeId}`. */
export interface Transcode {
  status: 'pending' | 'transcoded' | 'failed';
}

// By type name: an outcome settles the transcode whatever its data.
export const transcodeProjection = defineProjection<Transcode>(() => ({ status: 'pending' }))
  .on('Transcoded', () => ({ status: 'transcoded' }))
  .on('TranscodeFailed', () => ({ status: 'failed' }))
  .build();

/** Transcoded or failed, the transcode is settled: handling its `Transcode` again changes nothing. */
export const isSettled = (transcode: Transcode) => transcode.status !== 'pending';
