/** What the end-to-end walk expects to read on each page in each language (USD is the platform's default currency). */
export interface LocaleExpectations {
  lang: 'en' | 'ru' | 'pt-BR';
  instances: string;
  wallet: string;
  session: string;
  tokens: string;
  profile: string;
  /** The session state label of a logged-in WhatsApp session. */
  working: string;
  /** The monthly price, 1500 minor units of USD, as the language writes it. */
  price: string;
  /** The balance after a 50.00 deposit and one month charged. */
  balance: string;
  /** A short date as the language writes it (month names in that language). */
  day: RegExp;
}

export const LOCALE_PAGES: Record<LocaleExpectations['lang'], LocaleExpectations> = {
  en: {
    lang: 'en',
    instances: 'Instances',
    wallet: 'Wallet',
    session: 'WhatsApp session',
    tokens: 'Access tokens',
    profile: 'Profile',
    working: 'Working',
    price: '$15.00',
    balance: '$35.00',
    day: /(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}, \d{4}/,
  },
  ru: {
    lang: 'ru',
    instances: 'Инстансы',
    wallet: 'Кошелёк',
    session: 'Сеанс WhatsApp',
    tokens: 'Токены доступа',
    profile: 'Профиль',
    working: 'Работает',
    price: '15,00 $',
    balance: '35,00 $',
    day: /\d{1,2} (янв|февр|мар|апр|мая|июн|июл|авг|сент|окт|нояб|дек)\.? \d{4} г\./,
  },
  'pt-BR': {
    lang: 'pt-BR',
    instances: 'Instâncias',
    wallet: 'Carteira',
    session: 'Sessão do WhatsApp',
    tokens: 'Tokens de acesso',
    profile: 'Perfil',
    working: 'Conectada',
    price: 'US$ 15,00',
    balance: 'US$ 35,00',
    day: /\d{1,2} de (jan|fev|mar|abr|mai|jun|jul|ago|set|out|nov|dez)\.? de \d{4}/,
  },
};

/** Text with every run of white space (including the no-break spaces Intl writes) as one space, trimmed. */
export function norm(s: string | null | undefined): string {
  return (s ?? '').replace(/\s+/g, ' ').trim();
}
