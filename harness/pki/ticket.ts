import { pbkdf2 } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

/**
 * The ticket an agent presents to get its certificate signed, as `icinga2 pki ticket --cn
 * <cn> --salt <TicketSalt>` computes it: PBKDF2-HMAC-SHA1 over the CN, 50,000 iterations,
 * 20 bytes as 40 hex characters.
 */
export async function pkiTicket(commonName: string, ticketSalt: string): Promise<string> {
  return (await pbkdf2Async(commonName, ticketSalt, 50_000, 20, 'sha1')).toString('hex');
}
