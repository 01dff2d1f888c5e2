/**
 * The instance methods the tester can call (instance/src/routes-public.ts), and how a form's fields become a request.
 * Pure functions: unit-tested without a browser.
 */

export type MethodId = 'sendMessage' | 'listMessages' | 'getMessage' | 'listContacts' | 'getContact' | 'stats' | 'token';

export interface FieldDef {
  key: string;
  label: string;
  kind: 'text' | 'textarea' | 'datetime' | 'bool' | 'number';
  placeholder?: string;
  required?: boolean;
  hint?: string;
}

export interface MethodDef {
  id: MethodId;
  label: string;
  http: 'GET' | 'POST';
  path: string;
  permission: 'r' | 'w' | 'any';
  fields: FieldDef[];
}

let built: readonly MethodDef[] | undefined;

/**
 * Every instance method the tester can call, labels in the dashboard's language. A function (built once, on first
 * use): `$localize` must run after the translations are loaded.
 */
export function methods(): readonly MethodDef[] {
  return (built ??= [
    {
      id: 'sendMessage',
      label: $localize`:@@tester.send:Send a message`,
      http: 'POST',
      path: '/v1/messages',
      permission: 'w',
      fields: [
        {
          key: 'to',
          label: $localize`:@@tester.f.to:To (phone number or chat id)`,
          kind: 'text',
          placeholder: $localize`:@@tester.f.toPlaceholder:15551234567 or 15551234567@c.us`,
          required: true,
        },
        { key: 'text', label: $localize`:@@tester.f.text:Text`, kind: 'textarea', required: true },
        { key: 'quotedMessageId', label: $localize`:@@tester.f.quoted:Reply to message id (optional)`, kind: 'text' },
      ],
    },
    {
      id: 'listMessages',
      label: $localize`:@@tester.listMessages:List messages`,
      http: 'GET',
      path: '/v1/messages',
      permission: 'r',
      fields: [
        { key: 'since', label: $localize`:@@tester.f.since:Since`, kind: 'datetime' },
        { key: 'until', label: $localize`:@@tester.f.until:Until`, kind: 'datetime' },
        { key: 'q', label: $localize`:@@tester.f.q:Text contains`, kind: 'text' },
        { key: 'chatId', label: $localize`:@@tester.f.chatId:Chat id`, kind: 'text', placeholder: '15551234567@c.us' },
        { key: 'fromMe', label: $localize`:@@tester.f.fromMe:Direction`, kind: 'bool' },
        { key: 'isGroup', label: $localize`:@@tester.f.isGroup:Group chats`, kind: 'bool' },
        { key: 'limit', label: $localize`:@@tester.f.limit:Limit (1–500)`, kind: 'number', placeholder: '50' },
        { key: 'cursor', label: $localize`:@@tester.f.cursor:Cursor (next page)`, kind: 'text' },
      ],
    },
    {
      id: 'getMessage',
      label: $localize`:@@tester.getMessage:Message by id`,
      http: 'GET',
      path: '/v1/messages/:id',
      permission: 'r',
      fields: [{ key: 'id', label: $localize`:@@tester.f.messageId:Message id`, kind: 'text', required: true }],
    },
    {
      id: 'listContacts',
      label: $localize`:@@tester.listContacts:List contacts`,
      http: 'GET',
      path: '/v1/contacts',
      permission: 'r',
      fields: [
        { key: 'q', label: $localize`:@@tester.f.contactQ:Name or number contains`, kind: 'text' },
        { key: 'isGroup', label: $localize`:@@tester.f.groups:Groups`, kind: 'bool' },
        { key: 'limit', label: $localize`:@@tester.f.limit:Limit (1–500)`, kind: 'number', placeholder: '50' },
        { key: 'cursor', label: $localize`:@@tester.f.cursor:Cursor (next page)`, kind: 'text' },
      ],
    },
    {
      id: 'getContact',
      label: $localize`:@@tester.getContact:Contact by id`,
      http: 'GET',
      path: '/v1/contacts/:id',
      permission: 'r',
      fields: [
        { key: 'id', label: $localize`:@@tester.f.contactId:Contact id`, kind: 'text', placeholder: '15551234567@c.us', required: true },
      ],
    },
    { id: 'stats', label: $localize`:@@tester.stats:Statistics`, http: 'GET', path: '/v1/stats', permission: 'any', fields: [] },
    { id: 'token', label: $localize`:@@tester.token:Token permissions`, http: 'GET', path: '/v1/token', permission: 'any', fields: [] },
  ]);
}

export function methodById(id: MethodId): MethodDef {
  return methods().find((m) => m.id === id)!;
}

export interface BuiltRequest {
  method: 'GET' | 'POST';
  /** Path on the instance API, query included. */
  path: string;
  body?: Record<string, string>;
}

/** `datetime-local` value (local time) → ISO 8601 UTC; other ISO/epoch strings pass through. */
export function toInstant(v: string): string | null {
  const s = v.trim();
  if (!s) return null;
  if (/^\d{1,15}$/.test(s)) return s;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** The request for `def` from the form's `fields`, or a message naming the first problem. */
export function buildRequest(def: MethodDef, fields: Record<string, string>): BuiltRequest | { error: string } {
  const v = (k: string) => (fields[k] ?? '').trim();
  for (const f of def.fields) if (f.required && !v(f.key)) return { error: $localize`:@@tester.required:${f.label}:field: is required.` };
  switch (def.id) {
    case 'sendMessage': {
      const body: Record<string, string> = { to: v('to').replace(/^\+/, ''), text: fields['text'] ?? '' };
      if (v('quotedMessageId')) body['quotedMessageId'] = v('quotedMessageId');
      return { method: 'POST', path: def.path, body };
    }
    case 'getMessage':
    case 'getContact':
      return { method: 'GET', path: def.path.replace(':id', encodeURIComponent(v('id'))) };
    case 'listMessages':
    case 'listContacts': {
      const params = new URLSearchParams();
      for (const f of def.fields) {
        const value = v(f.key);
        if (!value) continue;
        if (f.kind === 'datetime') {
          const iso = toInstant(value);
          if (!iso) return { error: $localize`:@@tester.badDate:${f.label}:field: is not a valid date/time.` };
          params.set(f.key, iso);
        } else if (f.kind === 'bool') {
          if (value === 'true' || value === 'false') params.set(f.key, value);
        } else if (f.kind === 'number') {
          if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 500)
            return { error: $localize`:@@tester.badLimit:${f.label}:field:: enter a whole number from 1 to 500.` };
          params.set(f.key, value);
        } else params.set(f.key, value);
      }
      const since = params.get('since');
      const until = params.get('until');
      if (since && until && new Date(since) >= new Date(until))
        return { error: $localize`:@@tester.sinceUntil:“Since” must be before “Until”.` };
      const qs = params.toString();
      return { method: 'GET', path: qs ? `${def.path}?${qs}` : def.path };
    }
    default:
      return { method: def.http, path: def.path };
  }
}
