import type { Projection } from '@vt/message-store';
import { EmailReserved } from '../../contracts/identity.js';

/** Who holds an e-mail address, folded from `identityEmail-{…}`: the first `EmailReserved` wins for good. */
export interface EmailReservation {
  userId: string | null;
}

export const emailReservationProjection: Projection<EmailReservation> = {
  $init: () => ({ userId: null }),
  EmailReserved: (reservation, event) =>
    reservation.userId === null ? { userId: EmailReserved.parse(event).data.userId } : reservation,
};
