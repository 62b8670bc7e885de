import type { Projection } from 'message-db-toolkit';

/** What the transcode component knows about one transcode, projected from `transcode-{transcodeId}`. */
export interface Transcode {
  status: 'pending' | 'transcoded' | 'failed';
}

export const transcodeProjection: Projection<Transcode> = {
  $init: () => ({ status: 'pending' }),
  Transcoded: () => ({ status: 'transcoded' }),
  TranscodeFailed: () => ({ status: 'failed' }),
};

/** Transcoded or failed, the transcode is settled: handling its `Transcode` again changes nothing. */
export const isSettled = (transcode: Transcode) => transcode.status !== 'pending';
