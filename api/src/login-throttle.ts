/**
 * Login throttling: failed logins are counted per account (email) and per client address within a window
 * (rate-limiter-flexible); past either bound, logins answer 429 with Retry-After until the window passes.
 * A successful login clears the account's counter.
 */
import { RateLimiterMemory, type RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from './errors.js';

export class LoginThrottle {
  private readonly perAccount: RateLimiterMemory;
  private readonly perAddress: RateLimiterMemory;

  constructor(o: { maxPerAccount: number; maxPerAddress: number; windowS: number }) {
    this.perAccount = new RateLimiterMemory({ keyPrefix: 'login-account', points: o.maxPerAccount, duration: o.windowS });
    this.perAddress = new RateLimiterMemory({ keyPrefix: 'login-address', points: o.maxPerAddress, duration: o.windowS });
  }

  /** @throws AppError `too_many_attempts` (details.retryAfterS) when either counter is exhausted. */
  async check(email: string, address: string): Promise<void> {
    const [a, b] = await Promise.all([this.perAccount.get(email.toLowerCase()), this.perAddress.get(address)]);
    const blocked = [a, b].filter((r): r is RateLimiterRes => r !== null && r.remainingPoints <= 0);
    if (blocked.length) {
      const retryAfterS = Math.ceil(Math.max(...blocked.map((r) => r.msBeforeNext)) / 1000);
      throw new AppError('too_many_attempts', `Too many failed logins; try again in ${retryAfterS} s.`, { retryAfterS });
    }
  }

  async failed(email: string, address: string): Promise<void> {
    await Promise.all([this.perAccount.penalty(email.toLowerCase(), 1), this.perAddress.penalty(address, 1)]);
  }

  async succeeded(email: string): Promise<void> {
    await this.perAccount.delete(email.toLowerCase());
  }
}
