import { defineProjection } from 'message-db-toolkit';
import { EmailReleased, EmailReserved } from '../../contracts/identity.js';

/**
 * Who holds an e-mail address, folded from `identityEmail-{…}`: the first `EmailReserved` holds it until its
 * holder's account is deleted (`EmailReleased`); then the next registration may reserve it.
 */
export interface EmailReservation {
  userId: string | null;
  /** Someone held it once (and may have released it): a legacy `Registered` replayed must not take it again. */
  everHeld: boolean;
}

export const emailReservationProjection = defineProjection<EmailReservation>(() => ({
  userId: null,
  everHeld: false,
}))
  // By type name, parsed only while nobody holds the address: a later reservation is not read, whatever its data.
  .on('EmailReserved', (reservation, event) =>
    reservation.userId === null ? { userId: EmailReserved.parse(event).data.userId, everHeld: true } : reservation,
  )
  .on(EmailReleased, (reservation, event) =>
    reservation.userId === event.data.userId ? { ...reservation, userId: null } : reservation,
  )
  .build();
